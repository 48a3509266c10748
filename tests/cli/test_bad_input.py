"""The bad-input corpus, command line (issue 12, "Show"): every case exits 2 with one line naming the
problem, no traceback, and the user's sessions, trajectory files, checkpoint and project unchanged.

Cases run in process (``main(argv)``) against one world of real state (``cli_world.make_world``:
real sessions made by real runs, one paused at an approval on a real workspace); each is checked by
``cli_world.refused``, which fingerprints the world before and after.
"""

from __future__ import annotations

import pytest

from tapehead.agent.cli.main import main

from cli_world import fill, make_world, refused, stdin_of

SOLVE = [
    ("unknown-task", ["solve", "nosuch", "1+1"], "unknown task 'nosuch'"),
    ("missing-input", ["solve", "addition"], "required: input"),
    ("empty-input", ["solve", "addition", ""], "empty input"),
    ("blank-input", ["solve", "addition", "   "], "empty input"),
    ("arabic-indic-digits", ["solve", "addition", "١٢٣+٤٥٦", "--teacher"], "not an addition"),
    ("devanagari-digits", ["solve", "addition", "१२+३४", "--teacher"], "not an addition"),
    ("fullwidth-digits", ["solve", "addition", "１２+３４", "--teacher"], "not an addition"),
    ("superscript-digits", ["solve", "addition", "²+³", "--teacher"], "not an addition"),
    ("letters", ["solve", "addition", "12+x", "--teacher"], "not an addition"),
    ("three-terms", ["solve", "addition", "1+2+3", "--teacher"], "not an addition"),
    ("negative-without-dashes", ["solve", "addition", "-5+3"], "goes after '--'"),
    ("negative-after-dashes", ["solve", "addition", "--teacher", "--", "-5+3"], "not an addition of two non-negative"),
    ("input-file-missing", ["solve", "addition", "@{root}/nope.txt", "--teacher"], "no such input file"),
    ("input-file-dir", ["solve", "addition", "@{dir}", "--teacher"], "is a directory"),
    ("input-file-empty", ["solve", "addition", "@{bad}/empty.txt", "--teacher"], "empty input"),
    ("input-file-device", ["solve", "addition", "@/dev/zero", "--teacher"], "not a regular file"),
    ("input-file-not-utf8", ["solve", "addition", "@{bad}/not-utf8.txt", "--teacher"], "not UTF-8"),
    ("threads-zero", ["solve", "addition", "1+1", "--threads", "0"], "--threads: must be >= 1"),
    ("threads-negative", ["solve", "addition", "1+1", "--threads", "-3"], "--threads: must be >= 1, got -3"),
    ("threads-word", ["solve", "addition", "1+1", "--threads", "two"], "--threads: must be an integer"),
    ("threads-arabic", ["solve", "addition", "1+1", "--threads", "٢"], "--threads: must be an integer (ASCII"),
    ("threads-huge", ["solve", "addition", "1+1", "--threads", "100000"], "--threads: must be <= 1,024"),
    ("max-tokens-zero", ["solve", "addition", "1+1", "--max-tokens", "0"], "--max-tokens: must be >= 1"),
    ("max-tokens-negative", ["solve", "addition", "1+1", "--max-tokens", "-1"], "--max-tokens: must be >= 1"),
    ("max-tokens-float", ["solve", "addition", "1+1", "--max-tokens", "1.5"], "--max-tokens: must be an integer"),
    ("max-tokens-exp", ["solve", "addition", "1+1", "--max-tokens", "1e3"], "--max-tokens: must be an integer"),
    ("device-cuda", ["solve", "addition", "1+1", "--device", "cuda"], "--device: cuda"),
    ("device-gpu", ["solve", "addition", "1+1", "--device", "gpu"], "--device: must be cpu, cuda"),
    ("device-empty", ["solve", "addition", "1+1", "--device", ""], "--device: must be cpu"),
    ("compile-maybe", ["solve", "addition", "1+1", "--compile", "maybe"], "invalid choice: 'maybe'"),
    ("policy-missing", ["solve", "addition", "1+1", "--policy", "{root}/no-ckpt"], "no checkpoint"),
    ("policy-corrupt-json", ["solve", "addition", "1+1", "--policy", "{bad}/ckpt-bad"], "corrupt JSON"),
    ("policy-truncated-weights", ["solve", "addition", "1+1", "--policy", "{bad}/ckpt-trunc"], "corrupt weights"),
    ("policy-and-teacher", ["solve", "addition", "1+1", "--teacher", "--policy", "{ckpt}"], "not both"),
    ("policy-huge-d-model", ["solve", "addition", "1+1", "--policy", "{bad}/ckpt-huge"], "d_model"),
    ("policy-json-list", ["solve", "addition", "1+1", "--policy", "{bad}/list"], "expected a JSON object, got list"),
    ("abbreviated-flag", ["solve", "addition", "1+1", "--teach"], "unrecognized arguments: --teach"),
    ("unknown-flag", ["solve", "addition", "1+1", "--fast"], "unrecognized arguments: --fast"),
    ("hanoi-billion", ["solve", "hanoi", "hanoi 1000000000", "--teacher"], "too many"),
    ("hanoi-arabic", ["solve", "hanoi", "hanoi ١٠", "--teacher"], "not a Tower of Hanoi"),
    ("hanoi-repeated", ["solve", "hanoi", "(3)(3)", "--teacher"], "distinct"),
    ("hanoi-long-label", ["solve", "hanoi", "(" + "9" * 5000 + ")", "--teacher"], "disk sizes must be 1..999"),
    ("hanoi-recursive-zero", ["solve", "hanoi-recursive", "(0)", "--teacher"], "disk sizes must be"),
    ("graph-unicode-name", ["solve", "logical-graph", "vé = True", "--teacher"], "statement 1"),
    ("graph-arabic-name", ["solve", "logical-graph", "v١ = True", "--teacher"], "statement 1"),
    ("graph-undefined", ["solve", "logical-graph", "a = True\nb = a and c", "--teacher"], "used before"),
    ("mult-fullwidth", ["solve", "mult", "123*４", "--teacher"], "not a multiplication"),
    ("mult1-long-b", ["solve", "mult1", "123*45", "--teacher"], "must have 1 digit"),
    ("mult2-short-b", ["solve", "mult2", "123*4", "--teacher"], "must have 2 digit"),
    ("ablation-arabic", ["solve", "addition-nocot", "١+١", "--teacher"], "not an addition"),
]

EVAL = [
    ("n-negative", ["eval", "addition", "--n", "-1"], "--n: must be >= 1, got -1"),
    ("n-zero", ["eval", "addition", "--n", "0"], "--n: must be >= 1"),
    ("n-word", ["eval", "addition", "--n", "ten"], "--n: must be an integer"),
    ("sizes-empty", ["eval", "addition", "--sizes", ""], "--sizes: must be comma-separated integers"),
    ("sizes-zero", ["eval", "addition", "--sizes", "0"], "--sizes: must be >= 1"),
    ("sizes-negative", ["eval", "addition", "--sizes", "5,-1"], "--sizes: must be >= 1"),
    ("sizes-word", ["eval", "addition", "--sizes", "5,ten"], "--sizes: must be an integer"),
    ("sizes-arabic", ["eval", "addition", "--sizes", "١٠"], "--sizes: must be an integer (ASCII"),
    ("sizes-huge", ["eval", "addition", "--sizes", "10000000000"], "--sizes: must be <="),
    ("batch-zero", ["eval", "addition", "--batch", "0"], "--batch: must be >= 1"),
    ("seed-negative", ["eval", "addition", "--seed", "-1"], "--seed: must be >= 0"),
    ("n-large-zero", ["eval", "addition", "--n-large", "0"], "--n-large: must be >= 1"),
    ("large-from-zero", ["eval", "addition", "--large-from", "0"], "--large-from: must be >= 1"),
    ("stop-below-two", ["eval", "addition", "--stop-below", "2"], "--stop-below: must be <= 1"),
    ("stop-below-negative", ["eval", "addition", "--stop-below", "-0.1"], "--stop-below: must be >= 0"),
    ("stop-below-nan", ["eval", "addition", "--stop-below", "nan"], "--stop-below: must be a number"),
    ("stop-below-inf", ["eval", "addition", "--stop-below", "inf"], "--stop-below: must be a number"),
    ("suspend-negative", ["eval", "addition", "--suspend-after", "-1"], "--suspend-after: must be >= 0"),
    ("teacher-workers-negative", ["eval", "addition", "--teacher-workers", "-1"], "--teacher-workers: must be >= 0"),
    ("fuse-bad", ["eval", "addition", "--fuse", "everything"], "invalid choice: 'everything'"),
    ("out-is-file", ["eval", "addition", "--out", "{bad}/a-file"], "exists and is not a directory"),
    ("out-under-file", ["eval", "addition", "--out", "{bad}/a-file/x"], "is not a directory"),
    ("device-cuda", ["eval", "addition", "--device", "cuda"], "--device: cuda"),
    ("threads-zero", ["eval", "addition", "--threads", "0"], "--threads: must be >= 1"),
    ("study-name-on-task", ["eval", "addition", "paper"], "unrecognized arguments: paper"),
    ("suite-flag-on-task", ["eval", "addition", "--multitask"], "unrecognized arguments: --multitask"),
    ("suite-flag-on-task-2", ["eval", "addition", "--archs", "gru"], "unrecognized arguments: --archs"),
    ("teacher-is-not-eval", ["eval", "addition", "--teacher"], "unrecognized arguments: --teacher"),
    ("no-task", ["eval"], "required: TASK"),
    ("unknown-task", ["eval", "nosuch"], "invalid choice: 'nosuch'"),
    ("policy-missing", ["eval", "addition", "--policy", "{root}/no-ckpt", "--out", "{root}/ev"], "no checkpoint"),
    ("no-shipped-policy", ["eval", "hanoi", "--out", "{root}/ev"], "no trained policy ships"),
]

SUITE = [
    ("no-study", ["eval", "suite"], "required: STUDY"),
    ("unknown-study", ["eval", "suite", "nope"], "invalid choice: 'nope'"),
    ("task-flag-on-suite", ["eval", "suite", "paper", "--hard"], "unrecognized arguments: --hard"),
    ("policy-on-suite", ["eval", "suite", "paper", "--policy", "x"], "unrecognized arguments: --policy"),
    ("unknown-task", ["eval", "suite", "paper", "--tasks", "nosuch"], "--tasks: unknown name 'nosuch'"),
    ("unknown-arch", ["eval", "suite", "paper", "--archs", "mamba3"], "--archs: unknown name 'mamba3'"),
    ("archs-not-a-list", ["eval", "suite", "paper", "--archs", "mamba2;gru"], "--archs: unknown name 'mamba2;gru'"),
    ("seed-negative", ["eval", "suite", "paper", "--seeds", "0,-1"], "--seeds: must be >= 0"),
    ("seed-word", ["eval", "suite", "paper", "--seeds", "x"], "--seeds: must be an integer"),
    ("steps-zero", ["eval", "suite", "paper", "--steps", "0"], "--steps: must be >= 1"),
    ("lr-zero", ["eval", "suite", "paper", "--lr", "0"], "--lr: must be > 0"),
    ("lr-negative", ["eval", "suite", "paper", "--lr", "-1e-3"], "written --lr=-1e-3"),
    ("lr-negative-equals", ["eval", "suite", "paper", "--lr=-1e-3"], "--lr: must be > 0"),
    ("train-batch-zero", ["eval", "suite", "paper", "--train-batch", "0"], "--train-batch: must be >= 1"),
    ("micro-tokens-negative", ["eval", "suite", "paper", "--micro-tokens", "-1"], "--micro-tokens: must be >= 0"),
    ("workers-negative", ["eval", "suite", "paper", "--workers", "-1"], "--workers: must be >= 0"),
    ("train-size-zero", ["eval", "suite", "paper", "--train-size", "0"], "--train-size: must be >= 1"),
    ("stop-below-five", ["eval", "suite", "paper", "--stop-below", "5"], "--stop-below: must be <= 1"),
    ("sizes-zero", ["eval", "suite", "paper", "--sizes", "0"], "--sizes: must be >= 1"),
    ("out-is-file", ["eval", "suite", "paper", "--out", "{bad}/a-file"], "exists and is not a directory"),
    ("threads-negative", ["eval", "suite", "paper", "--threads", "-1"], "--threads: must be >= 1"),
]

TRAIN = [
    ("d-model-zero", ["train", "addition", "--out", "{root}/tr", "--d-model", "0"], "--d-model: must be >= 1, got 0"),
    ("d-model-negative", ["train", "addition", "--out", "{root}/tr", "--d-model", "-8"], "--d-model: must be >= 1"),
    ("d-model-huge", ["train", "addition", "--out", "{root}/tr", "--d-model", "10000000"], "--d-model: must be <="),
    ("layers-zero", ["train", "addition", "--out", "{root}/tr", "--layers", "0"], "--layers: must be >= 1"),
    ("d-state-zero", ["train", "addition", "--out", "{root}/tr", "--d-state", "0"], "--d-state: must be >= 1"),
    ("headdim-zero", ["train", "addition", "--out", "{root}/tr", "--headdim", "0"], "--headdim: must be >= 1"),
    ("headdim-mismatch", ["train", "addition", "--out", "{root}/tr", "--d-model", "100"], "must divide"),
    ("chunk-zero", ["train", "addition", "--out", "{root}/tr", "--chunk-size", "0"], "--chunk-size: must be >= 1"),
    ("steps-zero", ["train", "addition", "--out", "{root}/tr", "--steps", "0"], "--steps: must be >= 1"),
    ("batch-zero", ["train", "addition", "--out", "{root}/tr", "--batch", "0"], "--batch: must be >= 1"),
    ("lr-zero", ["train", "addition", "--out", "{root}/tr", "--lr", "0"], "--lr: must be > 0"),
    ("lr-nan", ["train", "addition", "--out", "{root}/tr", "--lr", "nan"], "--lr: must be a number"),
    ("weight-decay-negative", ["train", "addition", "--out", "{root}/tr", "--weight-decay", "-1"],
     "--weight-decay: must be >= 0"),
    ("warmup-negative", ["train", "addition", "--out", "{root}/tr", "--warmup", "-1"], "--warmup: must be >= 0"),
    ("seq-len-negative", ["train", "addition", "--out", "{root}/tr", "--seq-len", "-1"], "--seq-len: must be >= 0"),
    ("max-size-zero", ["train", "addition", "--out", "{root}/tr", "--max-size", "0"], "--max-size: must be >= 1"),
    ("checkpoint-every-negative", ["train", "addition", "--out", "{root}/tr", "--checkpoint-every=-1"],
     "--checkpoint-every: must be >= 0"),
    ("val-every-negative", ["train", "addition", "--out", "{root}/tr", "--val-every=-5"], "--val-every: must be >= 0"),
    ("workers-negative", ["train", "addition", "--out", "{root}/tr", "--workers", "-2"], "--workers: must be >= 0"),
    ("arch-unknown", ["train", "addition", "--out", "{root}/tr", "--arch", "mamba3"], "invalid choice: 'mamba3'"),
    ("no-out", ["train", "addition"], "required: --out"),
    ("out-is-file", ["train", "addition", "--out", "{bad}/a-file"], "exists and is not a directory"),
    ("unknown-task", ["train", "nosuch", "--out", "{root}/tr"], "unknown task 'nosuch'"),
    ("unknown-mixture-part", ["train", "addition+nosuch", "--out", "{root}/tr"], "unknown task 'nosuch'"),
    ("ship-is-dir", ["train", "addition", "--out", "{root}/tr", "--ship", "{dir}"], "is a directory"),
    ("threads-zero", ["train", "addition", "--out", "{root}/tr", "--threads", "0"], "--threads: must be >= 1"),
    ("device-cuda", ["train", "addition", "--out", "{root}/tr", "--device", "cuda"], "--device: cuda"),
]

RUN = [
    ("step-tokens-negative", ["run", "--task", "addition", "1+1", "--step-tokens", "-5"], "--step-tokens: must be >= 1"),
    ("step-tokens-zero", ["run", "--task", "addition", "1+1", "--step-tokens", "0"], "--step-tokens: must be >= 1"),
    ("step-tokens-word", ["run", "--task", "addition", "1+1", "--step-tokens", "many"], "--step-tokens: must be an integer"),
    ("max-tokens-negative", ["run", "--task", "addition", "1+1", "--max-tokens", "-1"], "--max-tokens: must be >= 1"),
    ("max-steps-zero", ["run", "--task", "addition", "1+1", "--max-steps", "0"], "--max-steps: must be >= 1"),
    ("max-tool-calls-negative", ["run", "--task", "addition", "1+1", "--max-tool-calls", "-1"],
     "--max-tool-calls: must be >= 1"),
    ("max-seconds-zero", ["run", "--task", "addition", "1+1", "--max-seconds", "0"], "--max-seconds: must be > 0"),
    ("max-seconds-negative", ["run", "--task", "addition", "1+1", "--max-seconds", "-2"], "--max-seconds: must be > 0"),
    ("max-seconds-nan", ["run", "--task", "addition", "1+1", "--max-seconds", "nan"], "--max-seconds: must be a number"),
    ("max-malformed-zero", ["run", "--task", "addition", "1+1", "--max-malformed", "0"], "--max-malformed: must be >= 1"),
    ("threads-negative", ["run", "--task", "addition", "1+1", "--threads", "-3"], "--threads: must be >= 1"),
    ("thread-dotdot", ["run", "--task", "addition", "1+1", "--thread", "../../x"], "--thread: a session id is"),
    ("thread-empty", ["run", "--task", "addition", "1+1", "--thread", ""], "--thread: a session id is"),
    ("thread-dot", ["run", "--task", "addition", "1+1", "--thread", "."], "--thread: a session id is"),
    ("thread-slash", ["run", "--task", "addition", "1+1", "--thread", "a/b"], "--thread: a session id is"),
    ("thread-long", ["run", "--task", "addition", "1+1", "--thread", "x" * 200], "--thread: a session id is"),
    ("thread-unicode", ["run", "--task", "addition", "1+1", "--thread", "sé"], "--thread: a session id is"),
    ("thread-space", ["run", "--task", "addition", "1+1", "--thread", " a"], "--thread: a session id is"),
    ("thread-newline", ["run", "--task", "addition", "1+1", "--thread", "a\nb"], "--thread: a session id is"),
    ("thread-exists", ["run", "--task", "addition", "1+1", "--policy", "teacher", "--thread", "done-1"],
     "session 'done-1' exists"),
    ("db-dir", ["run", "--task", "addition", "1+1", "--db", "{dir}"], "is a directory, not a sessions database"),
    ("db-garbage", ["run", "--task", "addition", "1+1", "--db", "{bad}/garbage.sqlite"], "is not a SQLite database"),
    ("db-truncated", ["run", "--task", "addition", "1+1", "--db", "{bad}/truncated.sqlite"], "not a usable SQLite"),
    ("db-other-program", ["run", "--task", "addition", "1+1", "--db", "{bad}/other.sqlite"],
     "another program's SQLite database"),
    ("db-under-file", ["run", "--task", "addition", "1+1", "--db", "{bad}/a-file/s.sqlite"], "is not a directory"),
    ("workspace-missing", ["run", "x", "--policy", "teacher", "--task", "addition", "--workspace", "/nonexistent"],
     "--workspace: /nonexistent: no such directory"),
    ("workspace-file", ["run", "x", "--workspace", "{bad}/a-file"], "--workspace: {bad}/a-file: not a directory"),
    ("out-dir", ["run", "--task", "addition", "1+1", "--out", "{dir}"], "--out: {dir}: is a directory"),
    ("out-under-file", ["run", "--task", "addition", "1+1", "--out", "{bad}/a-file/t.json"], "is not a directory"),
    ("device-cuda", ["run", "--task", "addition", "1+1", "--device", "cuda"], "--device: cuda"),
    ("approve-maybe", ["run", "--task", "addition", "1+1", "--approve", "exec=maybe"], "approval mode must be"),
    ("approve-category", ["run", "--task", "addition", "1+1", "--approve", "network=yolo"], "no tool category 'network'"),
    ("approve-junk", ["run", "--task", "addition", "1+1", "--approve", "junk"], "CATEGORY=MODE pairs"),
    ("approve-empty", ["run", "--task", "addition", "1+1", "--approve", ""], "CATEGORY=MODE pairs"),
    ("answer-maybe", ["run", "--resume", "wait-1", "--answer", "maybe"], "unknown answer 'maybe'"),
    ("answer-empty", ["run", "--resume", "wait-1", "--answer", ""], "unknown answer ''"),
    ("answer-bad-json", ["run", "--resume", "wait-1", "--answer", "{approve"], "not valid JSON"),
    ("answer-json-maybe", ["run", "--resume", "wait-1", "--answer", '{"approve": "maybe"}'], "unknown answer 'maybe'"),
    ("answer-json-no-approve", ["run", "--resume", "wait-1", "--answer", '{"note": "x"}'], "needs one \"approve\""),
    ("answer-json-extra", ["run", "--resume", "wait-1", "--answer", '{"approve": true, "x": 1}'], "unknown key(s) 'x'"),
    ("answer-json-note-type", ["run", "--resume", "wait-1", "--answer", '{"approve": true, "note": 5}'],
     "note must be a string"),
    ("answer-json-number", ["run", "--resume", "wait-1", "--answer", '{"approve": 1}'], "unknown answer 1"),
    ("answer-without-resume", ["run", "--task", "addition", "1+1", "--answer", "yes"], "--answer goes with --resume"),
    ("answer-not-waiting", ["run", "--resume", "done-1", "--answer", "yes"], "not waiting for an approval"),
    ("resume-empty", ["run", "--resume", ""], "not an empty string"),
    ("resume-unknown", ["run", "--resume", "nosuch"], "no session 'nosuch'"),
    ("resume-dotdot", ["run", "--resume", "../x"], "--resume: a session id is"),
    ("resume-ambiguous", ["run", "--resume", "done"], "2 sessions start with 'done'"),
    ("resume-with-input", ["run", "--resume", "done-1", "--input", "1+1"], "give no input"),
    ("resume-with-task", ["run", "--resume", "wait-1", "--task", "addition"], "--task is for a new run"),
    ("resume-with-workspace", ["run", "--resume", "wait-1", "--workspace", "{src}"], "--workspace is for a new run"),
    ("no-input", ["run", "--task", "addition"], "give --input"),
    ("input-twice", ["run", "--task", "addition", "1+1", "--input", "2+2"], "give the input once"),
    ("input-file-missing", ["run", "--task", "addition", "--input-file", "{root}/nope"], "--input-file: "),
    ("input-file-dir", ["run", "--task", "addition", "--input-file", "{dir}"], "is a directory"),
    ("input-at-missing", ["run", "--task", "addition", "--input", "@{root}/nope"], "no such input file"),
    ("input-not-utf8", ["run", "--task", "addition", "--input", "@{bad}/not-utf8.txt"], "not UTF-8"),
    ("input-empty-file", ["run", "--task", "addition", "--input", "@{bad}/empty.txt"], "the input is empty"),
    ("unknown-task", ["run", "--task", "nosuch", "1"], "unknown task 'nosuch'"),
    ("bad-addition", ["run", "--task", "addition", "12+x", "--policy", "teacher"], "not an addition"),
    ("arabic-digits", ["run", "--task", "addition", "١٢٣+٤٥٦", "--policy", "teacher"], "not an addition"),
    ("negative-input", ["run", "--task", "addition", "-5+3"], "goes after '--'"),
    ("negative-after-dashes", ["run", "--task", "addition", "--policy", "teacher", "--", "-5+3"], "not an addition"),
    ("script-missing", ["run", "x", "--policy", "script:{root}/nope.json"], "No such file"),
    ("script-strings", ["run", "x", "--policy", "script:{bad}/script-strings.json"], "script"),
    ("script-float-tokens", ["run", "x", "--policy", "script:{bad}/traj-float.json"], "not a token id"),
    ("policy-huge-d-model", ["run", "--task", "addition", "1+1", "--policy", "{bad}/ckpt-huge"], "d_model"),
    ("policy-missing", ["run", "--task", "addition", "1+1", "--policy", "{root}/no-ckpt"], "no checkpoint"),
    ("policy-corrupt", ["run", "--task", "addition", "1+1", "--policy", "{bad}/ckpt-bad"], "corrupt JSON"),
    ("no-policy", ["run", "hello"], "no policy"),
    ("abbreviated-flag", ["run", "--task", "addition", "1+1", "--max-tok", "5"], "unrecognized arguments: --max-tok"),
]

SESSIONS = [
    ("show-empty", ["sessions", "show", ""], "not an empty string"),
    ("show-unknown", ["sessions", "show", "nosuch"], "no session 'nosuch'"),
    ("show-ambiguous", ["sessions", "show", "done"], "2 sessions start with 'done'"),
    ("show-dotdot", ["sessions", "show", "../x"], "a session id is"),
    ("delete-empty", ["sessions", "delete", ""], "not an empty string"),
    ("delete-unknown", ["sessions", "delete", "nosuch", "--yes"], "no session 'nosuch'"),
    ("delete-ambiguous", ["sessions", "delete", "done", "--yes"], "2 sessions start with 'done'"),
    ("delete-one-good-one-bad", ["sessions", "delete", "done-1", "nosuch", "--yes"], "no session 'nosuch'"),
    ("delete-without-yes", ["sessions", "delete", "done-1"], "give --yes"),
    ("delete-dotdot", ["sessions", "delete", "../../x", "--yes"], "a session id is"),
    ("db-dir", ["sessions", "--db", "{dir}"], "is a directory"),
    ("db-garbage", ["sessions", "--db", "{bad}/garbage.sqlite"], "is not a SQLite database"),
    ("db-truncated", ["sessions", "list", "--db", "{bad}/truncated.sqlite"], "not a usable SQLite"),
    ("db-other-program", ["sessions", "--db", "{bad}/other.sqlite", "--json"], "another program's SQLite database"),
    ("show-no-db", ["sessions", "show", "x", "--db", "{root}/none.sqlite"], "no sessions yet"),
    ("bad-action", ["sessions", "purge"], "invalid choice: 'purge'"),
    ("show-no-id", ["sessions", "show"], "required: id"),
]

REPLAY = [
    ("missing-file", ["replay", "{root}/nope.json"], "no such file"),
    ("directory", ["replay", "{dir}"], "is a directory"),
    ("garbage-json", ["replay", "{bad}/garbage.json"], ""),
    ("empty-file", ["replay", "{bad}/empty.txt"], ""),
    ("not-utf8", ["replay", "{bad}/not-utf8.txt"], ""),
    ("no-format", ["replay", "{bad}/no-format.json"], "not a tapehead trajectory"),
    ("a-database", ["replay", "{bad}/copy.sqlite"], ""),
    ("json-list", ["replay", "{bad}/list.json"], "a JSON list, not an object"),
    ("missing-tokens", ["replay", "{bad}/traj-no-tokens.json"], "missing fields ['tokens']"),
    ("float-token", ["replay", "{bad}/traj-float.json"], "tokens[0] = 1.5 is not a token id"),
    ("out-of-vocabulary", ["replay", "{bad}/traj-oov.json"], "tokens[0] = 99999 is not a token id"),
    ("negative-prompt-len", ["replay", "{bad}/traj-negative-prompt.json"], "prompt_len = -1 is out of range"),
    ("huge-prompt-len", ["replay", "{bad}/traj-huge-prompt.json"], "prompt_len = 1000000000 is out of range"),
    ("unknown-version", ["replay", "{bad}/traj-version.json"], "version 99"),
    ("workspace-missing", ["replay", "{home}/trajectories/done-1.json", "--workspace", "/nonexistent"],
     "--workspace: /nonexistent: no such directory"),
]

TOP = [
    ("no-command", ["--verb"], "unrecognized arguments: --verb"),
    ("unknown-command", ["frobnicate"], "invalid choice: 'frobnicate'"),
    ("config-extra", ["config", "--show"], "unrecognized arguments: --show"),
]

CASES = [(f"{group}/{cid}", argv, frag) for group, table in
         (("solve", SOLVE), ("eval", EVAL), ("suite", SUITE), ("train", TRAIN), ("run", RUN), ("sessions", SESSIONS),
          ("replay", REPLAY), ("top", TOP)) for cid, argv, frag in table]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TAPEHEAD_HOME", str(root / "home"))
        mp.setenv("XDG_CONFIG_HOME", str(root / "xdg"))
        mp.chdir(root)
        w = make_world(root)
        yield w
        assert main(["sessions", "delete", "wait-1", "--yes"]) == 0  # its scratch copy with it


@pytest.fixture
def inside(world, monkeypatch):
    monkeypatch.setenv("TAPEHEAD_HOME", world["home"])
    monkeypatch.chdir(world["root"])
    stdin_of(monkeypatch, b"")
    return world


@pytest.mark.parametrize("argv, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused(inside, capsys, argv, fragment):
    from pathlib import Path

    refused(fill(argv, inside), fill(fragment, inside), capsys, Path(inside["root"]))


STDIN = [
    ("solve-empty-stdin", ["solve", "addition", "-", "--teacher"], b"", "empty input"),
    ("solve-stdin-arabic", ["solve", "addition", "-", "--teacher"], "١٢+٣".encode(), "not an addition"),
    ("solve-stdin-not-utf8", ["solve", "addition", "-", "--teacher"], b"1\xff+1", "not UTF-8"),
    ("run-stdin-garbage", ["run", "--task", "addition", "--input", "-", "--policy", "teacher"], b"hello", "not an addition"),
    ("run-stdin-blank", ["run", "--task", "addition", "-", "--policy", "teacher"], b"  \n", "the input is empty"),
]


@pytest.mark.parametrize("argv, data, fragment", [c[1:] for c in STDIN], ids=[c[0] for c in STDIN])
def test_refused_from_stdin(inside, capsys, monkeypatch, argv, data, fragment):
    from pathlib import Path

    stdin_of(monkeypatch, data)
    refused(fill(argv, inside), fragment, capsys, Path(inside["root"]))


def test_over_the_input_size_limit_reads_no_further(inside, capsys, monkeypatch, tmp_path):
    from pathlib import Path

    cfg = tmp_path / "c.toml"
    cfg.write_text("max_input_bytes = 1000\n")
    monkeypatch.setenv("TAPEHEAD_CONFIG", str(cfg))
    line = refused(fill(["solve", "addition", "@{bad}/big.txt", "--teacher"], inside), "input-size limit of 1,000 bytes",
                   capsys, Path(inside["root"]))
    assert "max_input_bytes" in line
    stdin_of(monkeypatch, b"1" * 5000)
    refused(["solve", "addition", "-", "--teacher"], "from stdin is over the input-size limit", capsys,
            Path(inside["root"]))


def test_the_paused_approval_survives_bad_answers(inside, capsys):
    """After every refused answer above, the approval is still pending."""
    capsys.readouterr()
    assert main(["sessions", "show", "wait-1", "--json"]) == 0
    import json

    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "awaiting_approval" and shown["approval"]["tool"] == "run"
