"""``make lite``: the lessons as a static JupyterLite site, built from the package registries alone.

- :mod:`.build` assembles the site (``build/lite/``) and reuses it while its inputs are unchanged;
- :mod:`.wheels` downloads the browser's wheels and rewrites Pyodide's lock file to point at them;
- :mod:`.pins` writes the pin files in ``tutorial_kit/lite/inputs/`` (maintainers, after a Pyodide upgrade).

``python -m tutorial_kit.lite build | pin`` runs them.
"""
