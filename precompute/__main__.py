"""``python -m precompute``: track a driving clip into a clip pack, or write the built-in
clips (``python -m precompute synth``)."""
import sys

from reactive.guard import quiet_native_logs

quiet_native_logs()  # before anything imports cv2

from precompute.cli import main  # noqa: E402

sys.exit(main())
