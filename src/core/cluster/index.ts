// Training on a cluster through its batch scheduler (SLURM, PBS Pro): submit a run, see where its
// job is, stop it gracefully. The run itself is followed through its run folder, as a local one.
export { batchScript } from './batchScript';
export { cancelJob, jobStatuses, readJobRecord, type JobRecord, type JobStatus, type SchedulerName } from './jobs';
export { submitProblems, submitRun, type SubmitOptions } from './submit';
