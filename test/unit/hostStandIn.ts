// Stands in for a VS Code window in the supervision tests: starts the trainer on a config file
// and run dir, prints the trainer's pid, then waits to be killed. With "stop-with-host" the
// trainer is told to stop when this process is gone (wordplay.keepTrainingOnClose off).
import { loadConfig } from '../../src/core/train/config';
import { startTrainer } from '../../src/core/train/trainerProcess';

const [configFile, runDir, mode] = process.argv.slice(2);
const env = { ...process.env, ...(mode === 'stop-with-host' ? { WORDPLAY_STOP_WITH_PID: String(process.pid) } : {}) };
const trainer = startTrainer({ config: loadConfig(configFile).config, runDir, env });
console.log(trainer.pid);
setInterval(() => undefined, 60_000);
