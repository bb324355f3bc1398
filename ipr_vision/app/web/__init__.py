"""The web app (Gradio) for officers, right holders, trainers and admins.

Start it with ``ipr-vision serve --gallery G`` or :func:`ipr_vision.app.web.app.launch`. Each tab
is a module here; every operation they offer goes through :class:`ipr_vision.app.service.Service`.
"""
