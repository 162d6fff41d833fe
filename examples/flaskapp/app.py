"""A tiny Flask app: the example vendorer deploys.

On App Service (Windows) wfastcgi serves `app.wsgi_app`; elsewhere `python app.py` runs it locally.
"""

from flask import Flask

app = Flask(__name__)
wsgi_app = app.wsgi_app


@app.route("/")
def hello() -> str:
    return "Hello from a vendored Flask."


if __name__ == "__main__":
    app.run()
