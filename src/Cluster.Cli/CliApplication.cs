using Cluster.Cli.Provisioning;

namespace Cluster.Cli;

/// <summary>The command line: parses it and runs a command, writing to the given writers so that tests can run it too.</summary>
public static class CliApplication
{
    /// <summary>The server the tool talks to when <c>--server</c> is not given: a silo's default address.</summary>
    public static readonly Uri DefaultServer = new("http://127.0.0.1:8080");

    /// <summary>The usage text.</summary>
    public const string Usage =
        """
        Usage: cluster provision [--server URL] [--invert]

        Commands:
          provision   Open a provisioning socket as a new device would, show its address as a QR code,
                      and wait (up to 10 minutes) for the primary device to send the provisioning message.

        Options:
          --server URL   The silo to talk to (http or https). Default: http://127.0.0.1:8080
          --invert       Draw the QR code for a terminal with a light background.
          -h, --help     Show this text.

        Exit codes: 0 the message arrived, 1 failure (server unreachable, socket closed or expired),
                    2 wrong command line, 130 interrupted.
        """;

    /// <summary>Runs the command line <paramref name="args"/>; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    /// <param name="args">The arguments, without the program name.</param>
    /// <param name="output">Where results and progress go (standard output).</param>
    /// <param name="error">Where errors and the usage go (standard error).</param>
    /// <param name="cancellationToken">Interrupts the command (Ctrl+C).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (args is [] || args[0] is "-h" or "--help" or "help")
        {
            (args is [] ? error : output).WriteLine(Usage);
            return args is [] ? ExitCodes.Usage : ExitCodes.Success;
        }

        if (args[0] != "provision")
        {
            return Fail(error, $"unknown command '{args[0]}'");
        }

        var server = DefaultServer;
        var invert = false;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--server" when i + 1 < args.Length:
                    if (!Uri.TryCreate(args[++i], UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
                    {
                        return Fail(error, $"--server must be an http or https URL, got '{args[i]}'");
                    }

                    server = parsed;
                    break;
                case "--invert":
                    invert = true;
                    break;
                case "-h" or "--help":
                    output.WriteLine(Usage);
                    return ExitCodes.Success;
                default:
                    return Fail(error, args[i] == "--server" ? "--server needs a URL" : $"unknown option '{args[i]}'");
            }
        }

        try
        {
            return await ProvisionCommand.RunAsync(new ProvisionSettings(server, invert), output, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine("Interrupted.");
            return ExitCodes.Cancelled;
        }
    }

    private static int Fail(TextWriter error, string problem)
    {
        error.WriteLine($"error: {problem}");
        error.WriteLine();
        error.WriteLine(Usage);
        return ExitCodes.Usage;
    }
}
