"""Ctrl-C during a run: stop between iterations, never in the middle of one."""
import contextlib
import signal
import threading


@contextlib.contextmanager
def deferred_interrupt():
    """Within the block, the first SIGINT (Ctrl-C) only sets a flag, which the
    loop reads between iterations (yields the function that reads it); a
    second SIGINT raises KeyboardInterrupt at once, as usual. The previous
    handler comes back on exit. Outside the main thread (where Python cannot
    install signal handlers) the flag never rises and Ctrl-C acts as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    caught = []

    def handler(signum, frame):
        if caught:
            raise KeyboardInterrupt
        caught.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(caught)
    finally:
        signal.signal(signal.SIGINT, previous)
