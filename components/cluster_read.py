"""Reading the cluster with kubectl before anything is registered: pulumi-command's `local.run`
function, synchronous, its answer data for the program and never for the log."""

from __future__ import annotations

import pulumi_command as command

from checks.kubeconfig import kubeconfig_file


class KubectlReadFailed(Exception):
    """kubectl failed; `output` is what it printed (never the command line)."""

    def __init__(self, output: str) -> None:
        super().__init__(output)
        self.output = output


def provider_output(error: Exception) -> str:
    """What kubectl printed, from pulumi-command's error for a failed command: `<exit error>:
    running "<command>":\\n<stdout and stderr>` (pulumi/pulumi-command
    provider/pkg/provider/local/commandOutputs.go `run`, 010bd8e). The command line itself is
    left out: it may name a kubeconfig."""
    text = str(error)
    _, sep, output = text.partition('":\n')
    return (output if sep else text).strip() or text


def kubectl_read(command_line: str, kubeconfig: str | None) -> str:
    """kubectl's stdout for `command_line`, run now. `kubeconfig` is `kubernetes:kubeconfig`'s
    plain value (a path or the contents, as pulumi-kubernetes reads it): kubectl gets it as
    KUBECONFIG naming a file, a private 0600 copy when it is contents, removed when the read
    returns (checks/kubeconfig.py); the command line never names it (it is quoted in
    pulumi-command's errors and seen in `ps`)."""
    with kubeconfig_file(kubeconfig) as path:
        try:
            result = command.local.run(
                command=command_line,
                environment={"KUBECONFIG": path} if path else None,
                logging=command.local.Logging.NONE,
                add_previous_output_in_env=False,
            )
        except Exception as error:  # any failure of the read is reported with kubectl's text
            raise KubectlReadFailed(provider_output(error)) from None
    return str(result.stdout)
