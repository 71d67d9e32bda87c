using System.Globalization;

namespace Cluster.LoadTest.CommandLine;

internal enum ScenarioKind
{
    Fanout,
    LinkChurn,
    Calls,
    ConnectStorm,
    GroupFanout,
}

/// <summary>Everything a run is told on its command line; every value has a default so that a bare run is bounded.</summary>
internal sealed record LoadTestOptions
{
    public const string Usage = """
        cluster-load: simulated devices over real sockets against one or many gateways.

        Usage: cluster-load <scenario> [options]
               cluster-load table REPORT.json...   (Markdown tables)
        From a source tree, `dotnet run --project src/Cluster.LoadTest -c Release --` stands for `cluster-load`.

        Scenarios:
          fanout          accounts with D devices each send to random contacts: one copy per device of the
                          destination, then sync copies to the sender's other devices
          link-churn      fanout, while a share of the accounts links a companion (QR provisioning flow)
                          and unlinks it again, over and over
          calls           ring a multi-device account; every callee device answers after a random delay;
                          exactly one answer must win
          connect-storm   every device opens its socket at once; connect latency and server memory per
                          connected idle device
          group-fanout    the accounts form groups of --group-size; each group drops its last member, then
                          random member devices send one sender-key message each; every other device of
                          every member must get it once, the removed members never

        Options:
          --targets URL[,URL...]   gateways (silos, or a Kubernetes Service); device i starts at URL i mod n
                                   and rotates on failure (default http://127.0.0.1:8080)
          --accounts N             accounts to register (default 100)
          --devices D              devices per account, 1..5, primary included (default 2)
          --rate R[/s]             open loop: R operations per second, latency from the scheduled time
                                   (default 100/s when --concurrency is not given)
          --concurrency C          closed loop: C callers, each starting its next operation when one ends
          --duration T             measured time after the warm-up, e.g. 60s, 2m (default 60s)
          --warmup T               unmeasured time first (default 5s)
          --count N                at most N operations in all, warm-up included (default: no limit)
          --drain T                after the last send, how long to wait for deliveries (default 30s)
          --message-bytes N        size of each copy's content, at least 16 (default 256)
          --report PATH            the JSON report (default loadtest-reports/<scenario>-<utc time>.json); the
                                   HTML report (.html) and HdrHistogram interval log (.hlog) go beside it
          --max-p99-ms X           fail when the p99 of a gated operation exceeds X ms
          --max-error-rate Y       fail when failed operations / operations exceeds Y, as 0.05 or 5%
                                   (default 1%; an operation fails when it still fails after its retries)
          --setup-concurrency N    accounts set up at once (default 16)
          --connect-concurrency N  sockets opened at once during setup (default 64; connect-storm: all)
          --churn-share F          link-churn: share of accounts that churn a companion (default 0.25)
          --churn-dwell T          link-churn: how long a companion stays linked (default 2s)
          --answer-delay T         calls: each callee device answers after 0..T (default 50ms)
          --group-size N           group-fanout: accounts per group, 2..1024, before the removal (default 8)
          --idle T                 connect-storm: how long to hold the sockets idle before measuring (default 10s)
          --request-timeout T      one HTTP request (default 30s)
          --send-over http|socket  how a device sends messages, group messages and call actions (the
                                   group-fanout and calls scenarios too): over its connected socket
                                   (request frames, no HTTP request each; HTTP while it is disconnected)
                                   or always over HTTP (default socket)
          --interval T             the report's timeline resolution (default 1s, at least 50ms)
          --max-in-flight N        open loop: operations in flight at most (default 10000)
          --seed N                 seed for the random picks (default: random)
          --verification-codes DIR where the silos' development verification sender writes codes (the
                                   silos' VerificationSender:DevelopmentDirectory; default the same
                                   default, cluster-verification-codes under the temp directory)
          --no-live                plain progress lines instead of the live table
          -h, --help               this text

        Exit codes: 0 passed; 1 loss, duplicates, a call-race violation, a threshold exceeded, or setup
        failed; 2 wrong command line; 130 interrupted.
        """;

    public required ScenarioKind Scenario { get; init; }

    public IReadOnlyList<Uri> Targets { get; init; } = [new("http://127.0.0.1:8080")];

    public int Accounts { get; init; } = 100;

    public int DevicesPerAccount { get; init; } = 2;

    public double? Rate { get; init; }

    public int? Concurrency { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(5);

    public long? Count { get; init; }

    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(30);

    public int MessageBytes { get; init; } = 256;

    public string? ReportPath { get; init; }

    public double? MaxP99Ms { get; init; }

    public double? MaxErrorRate { get; init; } = 0.01;

    public int SetupConcurrency { get; init; } = 16;

    /// <summary>Sockets opened at once: during setup 64 unless given; connect-storm opens all at once unless given.</summary>
    public int? ConnectConcurrency { get; init; }

    public double ChurnShare { get; init; } = 0.25;

    public TimeSpan ChurnDwell { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan AnswerDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan Idle { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>group-fanout: accounts per group before each group drops its last member.</summary>
    public int GroupSize { get; init; } = 8;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How devices send messages, group messages and call actions (<c>--send-over</c>): over their sockets unless told <c>http</c>.</summary>
    public Cluster.Client.Messaging.SendTransport SendOver { get; init; } = Cluster.Client.Messaging.SendTransport.Socket;

    /// <summary>The timeline's resolution: each operation's interval histogram and the error count are taken this often.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    public int MaxInFlight { get; init; } = 10_000;

    public int Seed { get; init; } = Random.Shared.Next();

    /// <summary>The directory the silos' development verification sender writes each number's code to.</summary>
    public string VerificationCodes { get; init; } = Path.Combine(Path.GetTempPath(), "cluster-verification-codes");

    public bool Live { get; init; } = true;

    /// <summary>Open loop unless a concurrency was given.</summary>
    public bool OpenLoop => Concurrency is null;

    public double EffectiveRate => Rate ?? 100;

    public static string ScenarioName(ScenarioKind kind) => kind switch
    {
        ScenarioKind.Fanout => "fanout",
        ScenarioKind.LinkChurn => "link-churn",
        ScenarioKind.Calls => "calls",
        ScenarioKind.GroupFanout => "group-fanout",
        _ => "connect-storm",
    };

    public static LoadTestOptions Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            throw new UsageException(null);
        }

        var scenario = args[0] switch
        {
            "fanout" => ScenarioKind.Fanout,
            "link-churn" => ScenarioKind.LinkChurn,
            "calls" => ScenarioKind.Calls,
            "connect-storm" => ScenarioKind.ConnectStorm,
            "group-fanout" => ScenarioKind.GroupFanout,
            _ => throw new UsageException($"unknown scenario '{args[0]}' (fanout, link-churn, calls, connect-storm, group-fanout)"),
        };

        var options = new LoadTestOptions { Scenario = scenario };
        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            string? value = null;
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (name.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }

            switch (name)
            {
                case "-h" or "--help":
                    throw new UsageException(null);
                case "--no-live":
                    options = options with { Live = false };
                    continue;
            }

            if (value is null)
            {
                if (i + 1 >= args.Count)
                {
                    throw new UsageException($"{name} needs a value");
                }

                value = args[++i];
            }

            options = name switch
            {
                "--targets" => options with { Targets = ParseTargets(value) },
                "--accounts" => options with { Accounts = Integer(name, value, 1, 1_000_000) },
                "--devices" => options with { DevicesPerAccount = Integer(name, value, 1, 5) },
                "--rate" => options with { Rate = Real(name, value.EndsWith("/s", StringComparison.Ordinal) ? value[..^2] : value, 0.001) },
                "--concurrency" => options with { Concurrency = Integer(name, value, 1, 100_000) },
                "--duration" => options with { Duration = ParseDuration(name, value, TimeSpan.FromMilliseconds(1)) },
                "--warmup" => options with { Warmup = ParseDuration(name, value, TimeSpan.Zero) },
                "--count" => options with { Count = Integer(name, value, 1, long.MaxValue) },
                "--drain" => options with { Drain = ParseDuration(name, value, TimeSpan.Zero) },
                "--message-bytes" => options with { MessageBytes = Integer(name, value, MessagePayloadMinimum, 96 * 1024) },
                "--report" => options with { ReportPath = value },
                "--max-p99-ms" => options with { MaxP99Ms = Real(name, value, 0) },
                "--max-error-rate" => options with { MaxErrorRate = Fraction(name, value) },
                "--setup-concurrency" => options with { SetupConcurrency = Integer(name, value, 1, 10_000) },
                "--connect-concurrency" => options with { ConnectConcurrency = Integer(name, value, 1, 1_000_000) },
                "--churn-share" => options with { ChurnShare = Fraction(name, value) },
                "--churn-dwell" => options with { ChurnDwell = ParseDuration(name, value, TimeSpan.Zero) },
                "--answer-delay" => options with { AnswerDelay = ParseDuration(name, value, TimeSpan.Zero) },
                "--group-size" => options with { GroupSize = Integer(name, value, 2, 1024) },
                "--idle" => options with { Idle = ParseDuration(name, value, TimeSpan.Zero) },
                "--request-timeout" => options with { RequestTimeout = ParseDuration(name, value, TimeSpan.FromMilliseconds(100)) },
                "--send-over" => options with
                {
                    SendOver = value switch
                    {
                        "http" => Cluster.Client.Messaging.SendTransport.Http,
                        "socket" => Cluster.Client.Messaging.SendTransport.Socket,
                        _ => throw new UsageException($"--send-over must be http or socket, got '{value}'"),
                    },
                },
                "--interval" => options with { Interval = ParseDuration(name, value, TimeSpan.FromMilliseconds(50)) },
                "--max-in-flight" => options with { MaxInFlight = Integer(name, value, 1, 10_000_000) },
                "--seed" => options with { Seed = Integer(name, value, int.MinValue, int.MaxValue) },
                "--verification-codes" => options with { VerificationCodes = value },
                _ => throw new UsageException($"unknown option '{name}'"),
            };
        }

        return options.Validate();
    }

    public const int MessagePayloadMinimum = 16;

    private LoadTestOptions Validate()
    {
        if (Rate is not null && Concurrency is not null)
        {
            throw new UsageException("--rate (open loop) and --concurrency (closed loop) exclude each other");
        }

        if (Scenario is ScenarioKind.Fanout or ScenarioKind.LinkChurn or ScenarioKind.Calls && Accounts < 2)
        {
            throw new UsageException($"{ScenarioName(Scenario)} needs at least 2 accounts");
        }

        if (Scenario == ScenarioKind.GroupFanout && Accounts < 3)
        {
            throw new UsageException("group-fanout needs at least 3 accounts (a group of 2 that drops one member still has a sender and a recipient)");
        }

        if (Scenario == ScenarioKind.LinkChurn && DevicesPerAccount > 4)
        {
            throw new UsageException("link-churn links one more companion: --devices is at most 4");
        }

        return this;
    }

    private static List<Uri> ParseTargets(string value)
    {
        var targets = new List<Uri>();
        foreach (var part in value.Split([',', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new UsageException($"--targets: '{part}' is not an http or https URL");
            }

            targets.Add(uri);
        }

        return targets.Count > 0 ? targets : throw new UsageException("--targets needs at least one URL");
    }

    private static long Integer(string name, string value, long min, long max) =>
        long.TryParse(value.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new UsageException($"{name} must be an integer in {min}..{max}, got '{value}'");

    private static int Integer(string name, string value, int min, int max) => (int)Integer(name, value, (long)min, max);

    private static double Real(string name, string value, double min) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x >= min && double.IsFinite(x)
            ? x
            : throw new UsageException($"{name} must be a number of at least {min.ToString(CultureInfo.InvariantCulture)}, got '{value}'");

    private static double Fraction(string name, string value)
    {
        var percent = value.EndsWith('%');
        var x = Real(name, percent ? value[..^1] : value, 0);
        x = percent ? x / 100 : x;
        return x <= 1 ? x : throw new UsageException($"{name} must be a fraction 0..1 or a percentage, got '{value}'");
    }

    /// <summary>60s, 1.5m, 500ms, 1h, or a bare number of seconds.</summary>
    internal static TimeSpan ParseDuration(string name, string value, TimeSpan min)
    {
        var (number, unit) = value switch
        {
            _ when value.EndsWith("ms", StringComparison.Ordinal) => (value[..^2], 0.001),
            _ when value.EndsWith('s') => (value[..^1], 1.0),
            _ when value.EndsWith('m') => (value[..^1], 60.0),
            _ when value.EndsWith('h') => (value[..^1], 3600.0),
            _ => (value, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) || !double.IsFinite(x) || x < 0 || x * unit > 86_400)
        {
            throw new UsageException($"{name} must be a duration such as 60s, 2m or 500ms (at most 24h), got '{value}'");
        }

        var duration = TimeSpan.FromSeconds(x * unit);
        return duration >= min ? duration : throw new UsageException($"{name} must be at least {min.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms");
    }
}

/// <summary>The command line is wrong (<see cref="Problem"/>), or help was asked for (null).</summary>
internal sealed class UsageException(string? problem) : Exception(problem ?? "help")
{
    public string? Problem { get; } = problem;
}
