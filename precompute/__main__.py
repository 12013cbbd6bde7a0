import sys

from reactive.cli import quiet_native_logs

quiet_native_logs()  # before anything imports cv2

from .cli import main  # noqa: E402

sys.exit(main())
