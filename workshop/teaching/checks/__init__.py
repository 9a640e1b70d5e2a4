"""The graded checks of every lab, one module per lab (``lab00_first_steps`` ...).

Each module registers its exercises with ``workshop.teaching.grading.exercise``; ``support`` holds
what several checks need (reading a learner's handler file, invoking a function).
"""
