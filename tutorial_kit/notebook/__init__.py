"""What the learner sees in Jupyter.

Rich display, the %%jsonaction magic, errors as one paragraph, JupyterLab's learner settings,
`make outputs`.
"""
