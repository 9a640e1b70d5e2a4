"""The graded checks of every lab, one module per lab (``lab00_first_steps`` ...).

Each module registers its exercises with ``workshop.teaching.grading.exercise``; ``support`` holds
what several checks need (reading a learner's handler file, invoking a function).
"""

__all__ = [
    "lab00_first_steps",
    "lab01_s3_trigger",
    "lab02_idempotency",
    "lab03_error_bucket_alarm",
    "lab04_fan_out",
    "lab05_game_scores",
    "lab06_stream_to_fifo",
    "lab07_sqs_polling",
    "lab08_kms_bucket",
    "lab09_capstone",
    "support",
]
