# Note [Replay must pay] (engine/trace/pay_check.hpp) times iterations and may run a loop eagerly
# where replay is slower on this machine: counts of replayed iterations would depend on the
# machine. It is off for the test suite (subprocesses inherit it); tests of it turn it on with fake
# iteration times (TERRA_PAY_CHECK_FAKE_US).
import os

os.environ["TERRA_REPLAY_MUST_PAY"] = "0"
