using Cluster.Cli.Accounts;
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
               cluster verify NUMBER [--server URL]
               cluster register NUMBER CODE [--name NAME] [--pin PIN] [--server URL]
               cluster registration-lock set PIN --login NUMBER.1 --password PASSWORD [--server URL]
               cluster registration-lock remove --login NUMBER.1 --password PASSWORD [--server URL]
               cluster delete-account NUMBER PASSWORD [--server URL]

        Commands:
          verify      Ask the server to send a verification code to NUMBER (E.164, e.g. +15551234567).
          register    Register NUMBER with the CODE it was sent and fresh keys; prints the new primary's
                      login and password (keep them: the server stores only the password's hash).
                      A NUMBER that is registered already moves to these new keys (a new phone): its other
                      devices are logged out and its contacts told. --pin gives its registration-lock PIN.
          registration-lock
                      As the primary (--login, --password): set a PIN a re-registration must present
                      (it lapses after 7 days without the primary), or remove it. Command-line arguments
                      are visible to other local users: this is for trying the flow.
          delete-account
                      Delete the account of NUMBER for good, as its primary device (PASSWORD is the one
                      register printed): every device is logged out and everything the server holds for
                      the account is deleted; the number can then be registered again.
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
        if (args is ["--server", var url, .. var rest])
        {
            // The one option every command takes may come before the command too (cluster --server URL verify ...).
            args = [.. rest, "--server", url];
        }

        if (args is [] || args[0] is "-h" or "--help" or "help")
        {
            (args is [] ? error : output).WriteLine(Usage);
            return args is [] ? ExitCodes.Usage : ExitCodes.Success;
        }

        if (args[0] is not ("provision" or "verify" or "register" or "registration-lock" or "delete-account"))
        {
            return Fail(error, $"unknown command '{args[0]}'");
        }

        var server = DefaultServer;
        var invert = false;
        string? name = null;
        string? pin = null;
        string? login = null;
        string? password = null;
        var positional = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--name" when i + 1 < args.Length && args[0] == "register":
                    name = args[++i];
                    break;
                case "--pin" when i + 1 < args.Length && args[0] == "register":
                    pin = args[++i];
                    break;
                case "--login" when i + 1 < args.Length && args[0] == "registration-lock":
                    login = args[++i];
                    break;
                case "--password" when i + 1 < args.Length && args[0] == "registration-lock":
                    password = args[++i];
                    break;
                case var value when args[0] != "provision" && !value.StartsWith("--", StringComparison.Ordinal) && value != "-h":
                    positional.Add(value);
                    break;
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

        var wanted = args[0] switch { "verify" => 1, "register" or "delete-account" => 2, "registration-lock" => positional is ["set", ..] ? 2 : 1, _ => 0 };
        if (positional.Count != wanted)
        {
            return Fail(error, args[0] switch
            {
                "verify" => "verify needs NUMBER",
                "register" => "register needs NUMBER and CODE",
                "delete-account" => "delete-account needs NUMBER and PASSWORD",
                _ => "registration-lock needs 'set PIN' or 'remove'",
            });
        }

        if (args[0] == "registration-lock" && (positional[0] is not ("set" or "remove") || login is null || password is null))
        {
            return Fail(error, "registration-lock needs 'set PIN' or 'remove', --login and --password");
        }

        try
        {
            return args[0] switch
            {
                "verify" => await AccountCommands.VerifyAsync(server, positional[0], output, cancellationToken),
                "delete-account" => await AccountCommands.DeleteAccountAsync(server, positional[0], positional[1], output, cancellationToken),
                "register" => await AccountCommands.RegisterAsync(server, positional[0], positional[1], name, output, cancellationToken, pin),
                "registration-lock" => await RegistrationLockCommand.RunAsync(
                    server, login!, password!, positional[0] == "set" ? positional[1] : null, output, cancellationToken),
                _ => await ProvisionCommand.RunAsync(new ProvisionSettings(server, invert), output, cancellationToken),
            };
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
