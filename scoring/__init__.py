"""Pure scoring core: PSNR, MATLAB bicubic, archive checks, parameter counting, timing, ranking.

Nothing here imports FastAPI, SQLAlchemy or Celery, so server and worker share it and its
tests run in milliseconds.
"""
