// A real two-node SLURM cluster on this one machine, for the cluster tests (test/cluster/):
// `node scripts/slurm-cluster.mjs start|stop|status`.
//
// start installs Debian's slurm-wlm and munge with apt-get when they are missing, writes /etc/slurm/slurm.conf, starts munged (unless one already answers),
// slurmctld and two slurmd daemons, n1 and n2 (`slurmd -N`: one host, two nodes, so `sbatch -N 2`
// places one task on each), and waits until sinfo shows both idle. stop cancels every job, shuts
// the daemons down and ends munged if start started it: nothing it started is left running.
//
// Limits: Linux with apt-get only; it runs as root (through `sudo -n` for anyone else). It refuses to
// overwrite a slurm.conf it did not write, so it never takes over a machine's real cluster. Each
// node has one CPU and no GPUs (GRES): the tests train on the CPU.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';

const conf = '/etc/slurm/slurm.conf';
const marker = '# written by wordplay scripts/slurm-cluster.mjs';
// what start started (pids), so stop ends those and nothing else
const stateFile = '/run/wordplay-slurm.json';
const spool = '/var/spool/wordplay-slurm';
const logs = '/var/log/wordplay-slurm';
const nodes = [
  { name: 'n1', port: 17001 },
  { name: 'n2', port: 17002 },
];

function run(args, { quiet = false, check = true } = {}) {
  const [cmd, ...rest] = args;
  const r = spawnSync(cmd, rest, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (check && r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    throw new Error(
      `slurm-cluster: "${args.join(' ')}" failed (${r.error?.message ?? `exit ${r.status}`})${quiet ? '' : `\n${out}`}`,
    );
  }
  return r;
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (pid) =>
  Number.isInteger(pid) &&
  pid > 0 &&
  fs.existsSync(`/proc/${pid}`) &&
  !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

function install() {
  if (['sbatch', 'slurmctld', 'slurmd', 'munged'].every(has)) return;
  if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(
      'slurm-cluster: SLURM is not installed and this is no Debian/Ubuntu machine (no apt-get); install slurm-wlm and munge',
    );
  }
  console.log('slurm-cluster: installing slurm-wlm and munge (apt-get)');
  const packages = ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'slurm-wlm', 'munge'];
  // a fresh machine may have no package lists yet
  if (run(packages, { check: false }).status !== 0) {
    run(['apt-get', 'update', '-q'], { quiet: true });
    run(packages);
  }
}

function slurmConf() {
  const host = os.hostname().split('.')[0];
  return `${marker}: a two-node test cluster on one host (${host}); stop it with "node scripts/slurm-cluster.mjs stop"
ClusterName=wordplay
SlurmctldHost=${host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# a node that was down (a restarted slurmd) takes jobs again by itself
ReturnToService=2
# a requeued or preempted job's processes get SIGTERM, then SIGKILL this many seconds later: time
# enough for a tiny model's checkpoint, short enough for quick tests
KillWait=10
# ended jobs leave squeue soon, so a test sees "ended" without waiting five minutes
MinJobAge=10
# the FIFO scheduler starts a job as soon as it is submitted
SchedulerType=sched/builtin
JobRequeue=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=${spool}/ctld
SlurmdSpoolDir=${spool}/%n
SlurmctldPidFile=/run/wordplay-slurmctld.pid
SlurmdPidFile=/run/wordplay-slurmd-%n.pid
SlurmctldLogFile=${logs}/slurmctld.log
SlurmdLogFile=${logs}/slurmd-%n.log
${nodes.map((n) => `NodeName=${n.name} NodeHostname=${os.hostname()} NodeAddr=127.0.0.1 Port=${n.port} CPUs=1 RealMemory=4000`).join('\n')}
PartitionName=debug Nodes=${nodes.map((n) => n.name).join(',')} Default=YES MaxTime=INFINITE State=UP
`;
}

function readState() {
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The pid a daemon wrote into its pid file (which it writes a moment after it forks). */
async function pidFile(file) {
  for (let i = 0; i < 100; i += 1) {
    try {
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (alive(pid)) return pid;
    } catch {
      // not written yet
    }
    await sleep(100);
  }
  throw new Error(`slurm-cluster: no live process in ${file} (logs in ${logs})`);
}

const mungeAnswers = () => spawnSync('sh', ['-c', 'munge -n | unmunge'], { stdio: 'ignore' }).status === 0;

function nodeStates() {
  const r = spawnSync('sinfo', ['-h', '-N', '-o', '%N %t'], { encoding: 'utf8' });
  if (r.status !== 0) return new Map();
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.trim().split(/\s+/)),
  );
}

async function start() {
  const running = readState();
  if (running && alive(running.slurmctld)) {
    console.log('slurm-cluster: already running');
    return;
  }
  install();
  if (fs.existsSync(conf) && !fs.readFileSync(conf, 'utf8').startsWith(marker)) {
    throw new Error(
      `slurm-cluster: ${conf} exists and was not written by this script; refusing to replace this machine's SLURM configuration`,
    );
  }
  fs.writeFileSync(conf, slurmConf());
  for (const dir of [`${spool}/ctld`, ...nodes.map((n) => `${spool}/${n.name}`), logs])
    fs.mkdirSync(dir, { recursive: true });
  const state = { munged: undefined, slurmctld: undefined, slurmd: [] };
  if (!mungeAnswers()) {
    // the key Debian's munge package made, else a fresh one (munge reads it as its own user)
    if (!fs.existsSync('/etc/munge/munge.key'))
      run(['mungekey', '--create', '--keyfile=/etc/munge/munge.key', '--bits=8192']);
    fs.mkdirSync('/run/munge', { recursive: true });
    run(['chown', 'munge:munge', '/etc/munge/munge.key', '/run/munge']);
    run(['chmod', '400', '/etc/munge/munge.key']);
    run(['runuser', '-u', 'munge', '--', 'munged']);
    state.munged = await pidFile('/run/munge/munged.pid');
    for (let i = 0; i < 50 && !mungeAnswers(); i += 1) await sleep(100);
    if (!mungeAnswers())
      throw new Error('slurm-cluster: munged started but does not answer (see /var/log/munge/munged.log)');
  }
  // a state file before the daemons, so stop can end a half-started cluster
  fs.writeFileSync(stateFile, JSON.stringify(state));
  // -c: a clean start, without jobs a previous cluster left in its state folder
  for (const file of ['/run/wordplay-slurmctld.pid', ...nodes.map((n) => `/run/wordplay-slurmd-${n.name}.pid`)])
    fs.rmSync(file, { force: true });
  run(['slurmctld', '-c']);
  state.slurmctld = await pidFile('/run/wordplay-slurmctld.pid');
  for (const n of nodes) {
    run(['slurmd', '-N', n.name]);
    state.slurmd.push(await pidFile(`/run/wordplay-slurmd-${n.name}.pid`));
  }
  fs.writeFileSync(stateFile, JSON.stringify(state));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const states = nodeStates();
    if (nodes.every((n) => states.get(n.name) === 'idle')) {
      console.log(`slurm-cluster: started; nodes ${nodes.map((n) => n.name).join(', ')} idle`);
      return;
    }
    await sleep(500);
  }
  throw new Error(
    `slurm-cluster: the nodes did not become idle within 60 s (sinfo: ${[...nodeStates()].map((e) => e.join(' ')).join(', ')}); logs in ${logs}`,
  );
}

async function waitGone(pids, ms) {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await sleep(200);
  return pids.filter(alive);
}

async function stop() {
  const state = readState();
  if (!state) {
    console.log('slurm-cluster: not running (no state file)');
    return;
  }
  const daemons = [state.slurmctld, ...state.slurmd].filter(Number.isInteger);
  if (alive(state.slurmctld)) {
    // the jobs first: their processes (slurmstepd, the trainers) are no daemon's children
    spawnSync('scancel', ['--full', '--signal=KILL', '--partition=debug'], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const q = spawnSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8' });
      if (q.status !== 0 || !q.stdout.trim()) break;
      await sleep(500);
    }
    spawnSync('scontrol', ['shutdown'], { stdio: 'ignore' });
  }
  for (const pid of await waitGone(daemons, 20_000)) process.kill(pid, 'SIGKILL');
  if (state.munged && alive(state.munged)) {
    process.kill(state.munged, 'SIGTERM');
    for (const pid of await waitGone([state.munged], 10_000)) process.kill(pid, 'SIGKILL');
  }
  const left = await waitGone([...daemons, state.munged].filter(Number.isInteger), 5_000);
  fs.rmSync(stateFile, { force: true });
  if (left.length) throw new Error(`slurm-cluster: processes ${left.join(', ')} are still there`);
  console.log('slurm-cluster: stopped');
}

function status() {
  const state = readState();
  if (!state || !alive(state.slurmctld)) {
    console.log('slurm-cluster: not running');
    return 1;
  }
  console.log(`slurm-cluster: running; ${[...nodeStates()].map((e) => e.join(' ')).join(', ')}`);
  return 0;
}

const command = process.argv[2];
const actions = { start, stop, status };
if (!Object.hasOwn(actions, command)) {
  console.error('Usage: node scripts/slurm-cluster.mjs start|stop|status');
  process.exit(2);
}
// the daemons, /etc and /run need root: anyone else runs this script again through sudo
if (process.platform === 'linux' && process.getuid() !== 0) {
  const r = spawnSync('sudo', ['-n', process.execPath, fileURLToPath(import.meta.url), command], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
try {
  process.exitCode = (await actions[command]()) ?? 0;
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
}
