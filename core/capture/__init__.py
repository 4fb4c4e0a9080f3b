"""Frames from a camera or a video file, for capturing images and for live prediction.

:mod:`core.capture.frames` opens either source through OpenCV's
``cv2.VideoCapture`` and hands out RGB ``uint8`` arrays, so a camera and a
video file go through the same code (tests and CI play a video file).  Saving
frames into the data set is :mod:`core.label.capture` (it journals with the
audit's Undo, which sits above this package).
"""
