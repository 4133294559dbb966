"""Files every bundle kind writes the same way: request.json, env.json, metrics.json, commands.txt."""

from __future__ import annotations

from nbparity.codec import dumps


def env_json(build=None, torch_env=None, port=None, c_threads=1) -> str:
    """env.json: the allow-listed environment; an external port's command and --version under "port"."""
    from nbparity import envinfo

    torch = None if (torch_env is None or "port" in torch_env) else torch_env
    env = envinfo.collect(build, torch=torch)
    if port is not None:
        from nbparity.port import port_env

        env["port"] = port_env(port)
    env["c_threads"] = c_threads
    return dumps(env)


def common_files(request, metrics: dict, side_commands: dict, build=None, torch_env=None) -> dict:
    """request.json, metrics.json, env.json and commands.txt of a bundle."""
    from nbparity.request import request_to_dict
    from nbparity.write.commands import commands_txt

    return {"request.json": dumps(request_to_dict(request)), "metrics.json": dumps(metrics),
            "env.json": env_json(build, torch_env, request.torch.port, request.c.threads),
            "commands.txt": commands_txt(request.kind, side_commands)}
