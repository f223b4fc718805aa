"""The workflows through a real SLURM cluster, as docs/cluster.md tells a user to run them.

A one-node cluster from Debian's packages (tests/cluster/with-slurm.sh) runs `snakemake
--profile profiles/slurm corpus shards`: every job but the plan goes through `sbatch`, and the
results must be the bytes of a local `-j2` run. Then the faults a cluster brings: a job
cancelled mid-run, a job over its memory limit, a job over its time limit, Snakemake itself
killed while its jobs wait.

These tests start daemons as root, so they run only when asked: `.ci/run` sets
PREPSUITE_CLUSTER_TESTS=1 (by hand: `PREPSUITE_CLUSTER_TESTS=1 .venv/bin/python -m pytest
tests/cluster`). Where SLURM cannot run at all (not root), they are skipped with that reason.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, snakemake_workdir
from prepsuite.text.sample import build_multistream

pytestmark = pytest.mark.cluster

HERE = Path(__file__).resolve().parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PROFILE = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text(encoding="utf-8"))
# The two flags the test cluster needs beside the profile (docs/cluster.md, "What is tested"):
# it has no slurmdbd, so jobs are watched with squeue; its jobs take seconds, so the first
# status check comes after 2 s instead of 40.
CLUSTER = ["--profile", "profiles/slurm", "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", "2"]
CHUNKS = 4
# The corpus file alone, not the `corpus` target (which adds its report): fewer jobs, the same
# chunk jobs and gather, where the faults below are made
CORPUS = "results/corpus/corpus.txt"
RUN_LIMIT = 240  # seconds for one Snakemake run on the test cluster (they take under a minute)
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
COMPARED = ["results/corpus/corpus.txt", "results/corpus/rejects.tsv", "results/shards/verify.txt"]


# --- the cluster ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A one-node SLURM cluster for this session: with-slurm.sh runs `cat` on a pipe from this
    process, so the cluster goes down when the pipe closes, at the end of the session or when
    pytest dies, however it dies."""
    if os.environ.get("PREPSUITE_CLUSTER_TESTS") != "1":
        pytest.skip("cluster tests start SLURM daemons: run them with PREPSUITE_CLUSTER_TESTS=1 (.ci/run does)")
    if os.geteuid() != 0:
        pytest.skip("NOT TESTED: a test SLURM cluster needs root (munged, slurmctld, slurmd); "
                    "the workflow was not run through SLURM on this machine")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        pytest.fail("the SLURM executor plugin is not installed: .venv/bin/pip install -e '.[cluster]' "
                    "(.ci/run does)")
    log = tmp_path_factory.mktemp("slurm") / "with-slurm.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(["bash", str(HERE / "with-slurm.sh"), "cat"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    deadline = time.monotonic() + 600  # packages to install on a bare machine, then seconds
    while "SLURM" not in log.read_text(errors="replace") or " up: " not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the test SLURM cluster did not come up:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)
    print(log.read_text(errors="replace").strip().splitlines()[-1], file=sys.stderr)
    try:
        yield
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert proc.returncode == 0, log.read_text(errors="replace")[-4000:]
    assert "cluster stopped" in log.read_text(errors="replace")


def squeue(*args: str) -> list[str]:
    out = subprocess.run(["squeue", "-h", *args], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def show_job(jobid: str) -> dict[str, str]:
    """`scontrol show job` as a dict (finished jobs stay for MinJobAge, 300 s on the test cluster)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", jobid], capture_output=True, text=True,
                         check=True).stdout
    fields = {}
    for item in re.findall(r"(\S+?)=(\S*)", out):
        fields.setdefault(item[0], item[1])
    return fields


# --- running Snakemake ----------------------------------------------------------------------------


def command(*args: str, limit: int = RUN_LIMIT) -> list[str]:
    """`snakemake ARGS` under `timeout -k`: Snakemake answers SIGTERM by waiting for its jobs,
    which can last for ever; the SIGKILL 20 s later makes a hang a failure, not a stalled CI."""
    return ["timeout", "-k", "20", str(limit), SNAKEMAKE, *args]


def run(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(command(*args), cwd=work, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
    if proc.returncode in (124, 137):
        raise AssertionError(f"snakemake {' '.join(args)} still running after {RUN_LIMIT} s:\n"
                             f"{proc.stderr[-6000:]}\nqueue: {squeue('-t', 'all')}")
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_snakemake_left():
    """A test that fails with Snakemake running in the background kills it, and its jobs."""
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            subprocess.run(["scancel", "--user", "root"], check=False)


def start(work: Path, *args: str) -> subprocess.Popen:
    """Snakemake in the background (signals go to Snakemake itself), its output in
    WORK/snakemake.log; `finished` kills it if it outlives its limit."""
    with open(work / "snakemake.log", "w") as out:
        STARTED.append(subprocess.Popen([SNAKEMAKE, *args], cwd=work, stdout=out,
                                        stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1")))
    return STARTED[-1]


def wait_for(what: str, test, limit: float = 120):
    """Polls TEST until it gives something true; fails naming WHAT after LIMIT seconds."""
    deadline = time.monotonic() + limit
    while not (found := test()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {limit:.0f} s; queue: {squeue('-t', 'all')}")
        time.sleep(0.05)
    return found


def finished(proc: subprocess.Popen, limit: float = RUN_LIMIT) -> int:
    """Snakemake's exit status; a run still going after LIMIT seconds is killed and fails the test."""
    try:
        return proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"snakemake still running after {limit} s (its output: snakemake.log in the "
                             f"test's directory); queue: {squeue('-t', 'all')}") from None


def workdir(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return snakemake_workdir(tmp_path / name)


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Path:
    """The reference: `snakemake -j2 corpus shards --config chunks=4` on this machine."""
    work = snakemake_workdir(tmp_path_factory.mktemp("local"))
    run(work, "-j2", "corpus", "shards", "--config", f"chunks={CHUNKS}")
    return work


def _counts(stats: Path):
    """The corpus's stats without its timings (seconds and MB/s differ from run to run)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("seconds", "mb_per_s")}
        return [strip(v) for v in value] if isinstance(value, list) else value
    return strip(json.loads(stats.read_text(encoding="utf-8")))


def same_bytes(work: Path, reference: Path, names=COMPARED) -> None:
    """NAMES and, with the rejects (same chunk count), the stats' counts; with the verify
    report, every shard."""
    for name in names:
        assert (work / name).read_bytes() == (reference / name).read_bytes(), name
    if "results/corpus/rejects.tsv" in names:
        stats = "results/corpus/stats.json"
        assert _counts(work / stats) == _counts(reference / stats)
    if "results/shards/verify.txt" in names:
        shards = sorted(p.relative_to(reference) for p in (reference / "results/shards/out").iterdir()
                        if not p.name.startswith("."))
        assert shards and shards == sorted(p.relative_to(work) for p in (work / "results/shards/out").iterdir()
                                           if not p.name.startswith("."))
        for name in shards:
            assert (work / name).read_bytes() == (reference / name).read_bytes(), name


def expected_resources(rule: str) -> dict[str, int]:
    """What the profile asks for a rule: its set-resources over the default-resources."""
    wanted = dict(PROFILE.get("default-resources", {}))
    wanted.update(PROFILE.get("set-resources", {}).get(rule, {}))
    wanted.setdefault("cpus_per_task", PROFILE.get("set-threads", {}).get(rule, 1))
    return wanted


def minutes(limit: str) -> int:
    """SLURM's [D-]HH:MM:SS as minutes."""
    days, _, clock = limit.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return (int(days or 0) * 24 + h) * 60 + m + (s > 0)


# --- the workflows through SLURM ------------------------------------------------------------------


def test_corpus_and_shards_through_slurm_are_the_bytes_of_a_local_run(slurm, local, tmp_path):
    work = workdir(tmp_path, "cluster")
    proc = run(work, *CLUSTER, "corpus", "shards", "--config", f"chunks={CHUNKS}")
    out = proc.stdout + proc.stderr
    same_bytes(work, local)

    # every job went through sbatch but the local rules: the plan (run inside Snakemake) and
    # the targets that only name files
    submitted = SUBMITTED.findall(out)
    jobs = {m[0]: Path(m[1]) for m in submitted}
    cluster_jobs = re.findall(r"^rule (\w+):$", out, re.M)
    local_jobs = re.findall(r"^localrule (\w+):$", out, re.M)
    total = int(re.search(r"^total +(\d+)$", out, re.M).group(1))
    assert len(jobs) == len(submitted) == len(cluster_jobs) == total - len(local_jobs), out[-3000:]
    assert set(local_jobs) <= {"plan_chunks", "corpus", "shards"} and "plan_chunks" in local_jobs
    rules = {}
    for jobid, slurm_log in jobs.items():
        job = show_job(jobid)
        assert job["JobState"] == "COMPLETED", job
        rule = re.match(r"rule_(\w+?)(?:_wildcards_(\S+))?$", job["Comment"]).group(1)
        rules.setdefault(rule, []).append(job)
        # SLURM's own log of the job, kept where the profile says, named by the job id
        assert slurm_log.is_relative_to(work / "results" / "logs" / "slurm"), slurm_log
        assert slurm_log.is_file() and slurm_log.name == f"{jobid}.log"
        # the profile's resources reached SLURM
        wanted = expected_resources(rule)
        assert job["MinMemoryNode"] == f"{wanted['mem_mb']}M", (rule, job)
        assert minutes(job["TimeLimit"]) == wanted["runtime"], (rule, job)
        assert int(job["CPUs/Task"]) == wanted["cpus_per_task"], (rule, job)
        assert job["Partition"] == wanted["slurm_partition"]
    assert len(rules["process_streams"]) == CHUNKS
    assert {r: len(j) for r, j in rules.items()} == {r: cluster_jobs.count(r) for r in cluster_jobs}

    # the rules' logs and benchmarks land where the README says, one per chunk
    for chunk in range(1, CHUNKS + 1):
        assert (work / f"results/logs/process_streams/{chunk}-of-{CHUNKS}.log").is_file()
        bench = (work / f"results/benchmarks/process_streams/{chunk}-of-{CHUNKS}.tsv").read_text()
        assert bench.startswith("s\t") and len(bench.splitlines()) == 2
    for rule in ("corpus/corpus", "shards/pack", "shards/shard", "shards/verify"):
        assert (work / f"results/logs/{rule}.log").is_file() and (work / f"results/benchmarks/{rule}.tsv").is_file()

    # nothing left to do: a second run submits nothing
    again = run(work, *CLUSTER, "corpus", "shards", "--config", f"chunks={CHUNKS}")
    assert not SUBMITTED.search(again.stdout + again.stderr)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_a_multistream_dump_through_slurm_gives_the_corpus_of_a_local_run(slurm, tmp_path):
    dump, index = build_multistream(tmp_path / "zhwiki-test-pages-articles-multistream.xml.bz2",
                                    repeat=3, pages_per_stream=10)
    config = ["--config", f"dump={dump}", "chunks=3"]
    local = workdir(tmp_path, "local")
    run(local, "-j2", CORPUS, *config)
    work = workdir(tmp_path, "cluster")
    proc = run(work, *CLUSTER, CORPUS, *config)
    same_bytes(work, local, COMPARED[:2])
    out = proc.stdout + proc.stderr
    assert len(re.findall(r"^rule process_streams:$", out, re.M)) == 3
    assert len(SUBMITTED.findall(out)) == len(re.findall(r"^rule \w+:$", out, re.M))
    assert sorted(p.name for p in (work / "results/segment").iterdir()) == [
        f"chunk-{n}-of-3.txt" for n in (1, 2, 3)]


# --- faults ---------------------------------------------------------------------------------------


def _prep_process(chunk: int) -> int | None:
    """The PID of the Python process running `prep process` for CHUNK (not the shells around it)."""
    ps = subprocess.run(["pgrep", "-f", f"^[^ ]*python[^ ]* [^ ]*/prep process .* --chunk {chunk} "],
                        capture_output=True, text=True)
    return int(ps.stdout.split()[0]) if ps.returncode == 0 else None


def _job_of(work: Path, rule: str, wildcards: str = "") -> str | None:
    """The SLURM job id of RULE (and WILDCARDS) in this run, once Snakemake has submitted it."""
    comment = f"rule_{rule}" + (f"_wildcards_{wildcards}" if wildcards else "")
    submitted = {m[0] for m in SUBMITTED.findall((work / "snakemake.log").read_text())}
    for line in squeue("-t", "all", "-o", "%i %k"):
        jobid, _, job_comment = line.strip().partition(" ")
        if jobid in submitted and job_comment.strip() == comment:
            return jobid
    return None


def _chunks_run(out: str) -> list[str]:
    """The chunks (scatteritem wildcards) of the process_streams jobs a run printed."""
    return re.findall(r"^rule process_streams:\n(?:    .*\n)*?    wildcards: scatteritem=(\S+)", out, re.M)


def _error_of(out: str, rule: str, output: str) -> str | None:
    """The message of Snakemake's error block for the job of RULE that writes OUTPUT."""
    for block in re.finditer(rf"Error in rule {rule}:\n((?:    .*\n)+)", out):
        if re.search(rf"\n    output: .*\b{re.escape(output)}\b", "\n" + block.group(1)):
            return re.search(r"    message: (.*)", block.group(1)).group(1)
    return None


def test_a_job_cancelled_mid_run_is_redone_by_the_same_command(slurm, local, tmp_path):
    work = workdir(tmp_path, "cancel")
    # the corpus is the same bytes whatever the chunk count: 3 chunks, fewer jobs than 4
    args = [*CLUSTER, CORPUS, "--config", "chunks=3"]
    proc = start(work, *args)
    # chunk 2's job, caught while its `prep process` runs, and held there (SIGSTOP: a sample
    # chunk takes a second) so that the cancel finds it mid-run, its output not yet written
    jobid = wait_for("chunk 2's job", lambda: _job_of(work, "process_streams", "2-of-3"))
    os.kill(wait_for("chunk 2's prep process", lambda: _prep_process(2)), signal.SIGSTOP)
    subprocess.run(["scancel", jobid], check=True)
    assert finished(proc) == 1
    log = (work / "snakemake.log").read_text()
    message = _error_of(log, "process_streams", "results/segment/chunk-2-of-3.txt")
    assert message and f"SLURM-job '{jobid}' failed, SLURM status is: 'CANCELLED'" in message, log[-3000:]
    # nothing of chunk 2 looks finished: no output, no temporary file beside it
    assert not list((work / "results/segment").glob("*chunk-2-of-3*"))
    assert not (work / "results/corpus/corpus.txt").exists()

    # the same command again: it does what is left and gives the bytes of the local run
    again = run(work, *args)
    out = again.stdout + again.stderr
    redone = _chunks_run(out)
    assert "2-of-3" in redone and len(redone) < 3, out[-3000:]
    same_bytes(work, local, COMPARED[:1])


def test_a_job_over_its_memory_limit_is_reported_by_rule_and_chunk(slurm, tmp_path):
    work = workdir(tmp_path, "memory")
    # 100 MB: less than the job's own Snakemake process needs (SLURM's limit holds for every
    # step of the job); SLURM kills the job as it passes the limit
    proc = run(work, *CLUSTER, CORPUS, "--config", "chunks=2", "--set-resources",
               "process_streams:mem_mb=100", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    for chunk in ("1-of-2", "2-of-2"):
        message = _error_of(out, "process_streams", f"results/segment/chunk-{chunk}.txt")
        assert message, out[-4000:]
        jobid = re.search(r"SLURM-job '(\d+)' failed", message).group(1)
        slurm_log = next((work / "results/logs/slurm").rglob(f"{jobid}.log")).read_text()
        assert "exceeded memory limit" in slurm_log, slurm_log
    assert not (work / "results/segment").exists() or not list((work / "results/segment").iterdir())
    assert not (work / "results/corpus/corpus.txt").exists()


def test_a_job_over_its_time_limit_is_reported_by_rule_and_chunk(slurm, local, tmp_path):
    """SLURM's shortest limit is a minute and a sample chunk takes a second, so chunk 2's
    `prep process` is held (SIGSTOP, as a hung process would hang) until SLURM ends its job.
    That takes 2 to 3 minutes, no less: slurmctld looks for jobs past their limit every 30 s
    (a constant of its build, not a setting), the plugin's status checks come 10 s further
    apart each time none of its jobs has ended, and Snakemake, told of the TIMEOUT by one of
    them, exits only after the next interval."""
    work = workdir(tmp_path, "timelimit")
    args = [*CLUSTER, CORPUS, "--config", "chunks=2"]
    # a minute for every chunk job (sbatch --time=1); chunk 1 is done in seconds
    proc = start(work, *args, "--set-resources", "process_streams:runtime=1")
    os.kill(wait_for("chunk 2's prep process", lambda: _prep_process(2)), signal.SIGSTOP)
    jobid = wait_for("chunk 2's job", lambda: _job_of(work, "process_streams", "2-of-2"))
    assert show_job(jobid)["TimeLimit"] == "00:01:00"
    assert finished(proc, limit=RUN_LIMIT + 60) == 1, (work / "snakemake.log").read_text()[-3000:]
    log = (work / "snakemake.log").read_text()
    message = _error_of(log, "process_streams", "results/segment/chunk-2-of-2.txt")
    # with squeue as the status command the plugin gives SLURM's state and no reason
    assert message and f"SLURM-job '{jobid}' failed, SLURM status is: 'TIMEOUT'" in message, log[-3000:]
    job = show_job(jobid)
    assert (job["JobState"], job["Reason"]) == ("TIMEOUT", "TimeLimit"), job
    assert minutes(job["RunTime"]) > minutes(job["TimeLimit"]), job  # it ran past its minute
    # SLURM's log of the job says why it ended
    slurm_log = next((work / "results/logs/slurm").rglob(f"{jobid}.log")).read_text()
    cancelled = rf"\*\*\* JOB {jobid} ON \S+ CANCELLED AT \S+ DUE TO TIME LIMIT \*\*\*"
    assert re.search(cancelled, slurm_log), slurm_log[-3000:]
    # nothing of chunk 2 looks finished: no output, no temporary file beside it; no corpus
    assert not list((work / "results/segment").glob("*chunk-2-of-2*"))
    assert not list((work / "results/stats/process").glob("*2-of-2*"))
    assert not (work / "results/corpus/corpus.txt").exists()

    # the same command with the profile's runtime: chunk 2 alone is redone, and the corpus is
    # the local run's
    again = run(work, *args)
    assert _chunks_run(again.stdout + again.stderr) == ["2-of-2"], (again.stdout + again.stderr)[-3000:]
    same_bytes(work, local, COMPARED[:1])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_snakemake_killed_while_its_jobs_wait_then_the_rerun_recovers(slurm, local, tmp_path, sig):
    work = workdir(tmp_path, sig.name)
    args = [*CLUSTER, CORPUS, "--config", "chunks=3"]
    proc = start(work, *args)
    # the test node has 2 CPUs, a chunk job takes one: of 3 chunk jobs, one waits in the queue
    wait_for("a job waiting in the queue", lambda: squeue("-t", "PD"))
    run_name = squeue("-t", "PD", "-o", "%j")[0].strip()
    proc.send_signal(sig)
    code = finished(proc)
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
        # what docs/cluster.md says to do: cancel the dead run's jobs, unlock, run again
        subprocess.run(["scancel", "--name", run_name], check=True)
        wait_for("the dead run's jobs gone", lambda: not squeue("--name", run_name), limit=60)
        locked = run(work, *args, check=False)
        assert locked.returncode == 1 and "--unlock" in locked.stderr
        run(work, "--unlock", *args)
    else:
        # SIGTERM: Snakemake submits nothing more, waits for the jobs it submitted, then stops
        assert code == 1, (work / "snakemake.log").read_text()[-3000:]
        assert "Will exit after finishing currently running jobs" in (work / "snakemake.log").read_text()
        assert not squeue("--name", run_name)
        assert not (work / "results/corpus/corpus.txt").exists()
    run(work, *args)
    same_bytes(work, local, COMPARED[:1])
