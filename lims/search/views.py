"""The header's search box: a scan or a code goes straight to its record; anything else answers a short list."""
from flask import Blueprint, redirect, render_template, request

from lims.auth.access import login_required
from lims.search import services

bp = Blueprint("search_pages", __name__, template_folder="templates")


@bp.route("/search")
@login_required
def search():
    answer = services.find(request.args.get("q", ""))
    if answer.only is not None:
        return redirect(answer.only.href, code=303)
    return render_template("search/results.html", answer=answer, search_query=answer.query)
