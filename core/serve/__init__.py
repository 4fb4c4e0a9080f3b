"""A local prediction server speaking TensorFlow Serving's REST API.

Production-line and lab software asks the model over HTTP.  The routes and the
JSON shapes are TensorFlow Serving's (``/v1/models/NAME``, ``.../metadata``,
``...:predict`` with ``{"instances": [...]}``), so a client that sends pixel arrays at
the model's size and reads ``probabilities`` moves to TensorFlow Serving (with the app's
SavedModel export), or any server speaking its REST API, unchanged.  ``b64`` image
files, any image size, ``label`` and ``unknown`` are this server's extras.

* :mod:`core.serve.instances` turns one JSON instance into pixels like the app does;
* :mod:`core.serve.batching` groups concurrent requests and runs the model in one thread;
* :mod:`core.serve.app` is the ASGI app (Starlette): routes, limits, the bearer token;
* :mod:`core.serve.server` runs it with uvicorn, in the foreground (CLI) or a
  background thread with a URL and a ``stop()`` (the window).
"""
