"""The teaching machinery: checks and grading, progress, steps and pacing, building and running notebooks."""
