"""gdfast._run.sigint_handled: the handler is installed for the block (a
function, or signal.SIG_IGN as the zarr CLI passes it) and the previous one
comes back."""
import signal

from gdfast._run import sigint_handled


def _mine(signum, frame):
    pass


def test_sig_ign_and_a_function_are_installed_and_the_previous_handler_restored():
    before = signal.getsignal(signal.SIGINT)
    for handler in (signal.SIG_IGN, _mine):
        with sigint_handled(handler) as installed:
            assert installed
            assert signal.getsignal(signal.SIGINT) == handler
        assert signal.getsignal(signal.SIGINT) == before
