# JupyterHub configuration of the hub test (tests/test_hub.py) and of `make hub-figures`:
# every learner a Unix user, LocalProcessSpawner, configurable-http-proxy, all on 127.0.0.1.
# The test passes ports, paths and the API token in KIT_HUB_TEST (JSON); nothing else is read.
# Not a production configuration: the dummy authenticator lets every learner in with one password.
import json
import os

settings = json.loads(os.environ["KIT_HUB_TEST"])
workdir = settings["workdir"]
c = get_config()  # noqa: F821 - JupyterHub provides it

c.JupyterHub.bind_url = settings["bind_url"]
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.pid_file = os.path.join(workdir, "proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(workdir, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(workdir, "cookie_secret")
c.JupyterHub.pid_file = os.path.join(workdir, "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # the hub stops the learners' servers when it stops

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = settings["password"]
c.Authenticator.allowed_users = set(settings["users"])

c.JupyterHub.spawner_class = "localprocess"  # each learner's server runs as that Unix user
c.Spawner.cmd = [settings["singleuser"]]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 240
c.Spawner.http_timeout = 240
c.Spawner.env_keep = ["PATH", "LANG", "LC_ALL"]

c.JupyterHub.services = [{"name": "kit-test", "api_token": settings["token"]}]
c.JupyterHub.load_roles = [{
    "name": "kit-test",
    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users", "read:users"],
    "services": ["kit-test"],
}]
