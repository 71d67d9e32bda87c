using System.Text.Json.Serialization;
using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Calls;
using Cluster.LoadTest.CommandLine;
using Cluster.LoadTest.ConnectStorm;
using Cluster.LoadTest.LinkChurn;
using Cluster.LoadTest.Latency;

namespace Cluster.LoadTest.Reporting;

/// <summary>The JSON report of one run.</summary>
internal sealed record LoadTestReport
{
    public string Tool { get; init; } = "Cluster.LoadTest";

    public required string GitSha { get; init; }

    public bool? GitDirty { get; init; }

    public required string Scenario { get; init; }

    public required ReportParameters Parameters { get; init; }

    public required IReadOnlyList<string> Targets { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required DateTimeOffset FinishedAt { get; init; }

    public required MachineInfo Machine { get; init; }

    public required SetupResult Setup { get; init; }

    public required ReportResults Results { get; init; }

    public required Verdict Verdict { get; init; }

    /// <summary>The HdrHistogram interval log of the run (written to its own <c>.hlog</c> file, not into the JSON).</summary>
    [JsonIgnore]
    public string? IntervalLog { get; init; }
}

internal sealed record ReportParameters
{
    public int Accounts { get; init; }

    public int DevicesPerAccount { get; init; }

    /// <summary><c>open</c> (fixed rate) or <c>closed</c> (fixed concurrency).</summary>
    public required string Mode { get; init; }

    public double? Rate { get; init; }

    public int? Concurrency { get; init; }

    public double DurationSeconds { get; init; }

    public double WarmupSeconds { get; init; }

    public long? Count { get; init; }

    public double DrainSeconds { get; init; }

    public int MessageBytes { get; init; }

    public double? MaxP99Ms { get; init; }

    public double? MaxErrorRate { get; init; }

    public int SetupConcurrency { get; init; }

    public int? ConnectConcurrency { get; init; }

    public double? ChurnShare { get; init; }

    public double? ChurnDwellSeconds { get; init; }

    public double? AnswerDelayMs { get; init; }

    public double? IdleSeconds { get; init; }

    public int MaxInFlight { get; init; }

    /// <summary>How devices sent messages (<c>--send-over</c>): <c>socket</c> or <c>http</c>.</summary>
    public string SendOver { get; init; } = "socket";

    public int Seed { get; init; }

    /// <summary>The timeline's interval (<c>--interval</c>).</summary>
    public double IntervalSeconds { get; init; }

    public static ReportParameters Of(LoadTestOptions options) => new()
    {
        Accounts = options.Accounts,
        DevicesPerAccount = options.DevicesPerAccount,
        Mode = options.OpenLoop ? "open" : "closed",
        Rate = options.OpenLoop ? options.EffectiveRate : null,
        Concurrency = options.Concurrency,
        DurationSeconds = options.Duration.TotalSeconds,
        WarmupSeconds = options.Warmup.TotalSeconds,
        Count = options.Count,
        DrainSeconds = options.Drain.TotalSeconds,
        MessageBytes = options.MessageBytes,
        MaxP99Ms = options.MaxP99Ms,
        MaxErrorRate = options.MaxErrorRate,
        SetupConcurrency = options.SetupConcurrency,
        ConnectConcurrency = options.ConnectConcurrency,
        ChurnShare = options.Scenario == ScenarioKind.LinkChurn ? options.ChurnShare : null,
        ChurnDwellSeconds = options.Scenario == ScenarioKind.LinkChurn ? options.ChurnDwell.TotalSeconds : null,
        AnswerDelayMs = options.Scenario == ScenarioKind.Calls ? options.AnswerDelay.TotalMilliseconds : null,
        IdleSeconds = options.Scenario == ScenarioKind.ConnectStorm ? options.Idle.TotalSeconds : null,
        MaxInFlight = options.MaxInFlight,
        SendOver = options.SendOver == Cluster.Client.Messaging.SendTransport.Http ? "http" : "socket",
        Seed = options.Seed,
        IntervalSeconds = options.Interval.TotalSeconds,
    };
}

internal sealed record MachineInfo(int ProcessorCount, string Os, string Runtime, double MemoryGiB, string? LoadAverageAtStart, string? LoadAverageAtEnd);

internal sealed record ReportResults
{
    /// <summary>The measured window: from the end of the warm-up to the last operation started.</summary>
    public double MeasuredSeconds { get; init; }

    /// <summary>Operations started, warm-up included.</summary>
    public long Operations { get; init; }

    public long MeasuredOperations { get; init; }

    public long Succeeded { get; init; }

    public long Failed { get; init; }

    /// <summary>Failed operations / operations: an operation fails when it still fails after its bounded retries.</summary>
    public double ErrorRate { get; init; }

    /// <summary>Measured operations per measured second (open loop: the rate asked for, if the tool kept up).</summary>
    public double OperationsPerSecond { get; init; }

    /// <summary>Sends answered 200 per measured second (a message with sync copies is two sends).</summary>
    public double SendsPerSecond { get; init; }

    /// <summary>Copies delivered to devices per measured second.</summary>
    public double EnvelopesPerSecond { get; init; }

    /// <summary>Open loop: the most an operation started after its scheduled time (the tool's own lag; it is in the latencies).</summary>
    public double MaxScheduleLagMs { get; init; }

    public bool Drained { get; init; }

    public double DrainSeconds { get; init; }

    public EnvelopeTally? Envelopes { get; init; }

    public CallTally? Calls { get; init; }

    public ChurnTally? Churn { get; init; }

    public ConnectionTally? Connections { get; init; }

    /// <summary>Per operation, in milliseconds; open loop measures from the scheduled time. Warm-up excluded.</summary>
    public required IReadOnlyDictionary<string, LatencySummary> Latency { get; init; }

    /// <summary>Every failed request or check, by kind (a retried request counts each time it failed).</summary>
    public required IReadOnlyDictionary<string, long> Errors { get; init; }

    /// <summary>Socket events the devices received, by type.</summary>
    public required IReadOnlyDictionary<string, long> Events { get; init; }

    public long Reconnects { get; init; }

    public long Disconnects { get; init; }

    /// <summary>Socket drops by the server's close code (<c>no close frame</c> when the connection broke).</summary>
    public IReadOnlyDictionary<string, long> Drops { get; init; } = new Dictionary<string, long>();

    public IReadOnlyList<string> Violations { get; init; } = [];

    /// <summary>Each operation timed, per <c>--interval</c>, in seconds from the start of the run.</summary>
    public IReadOnlyList<TimelinePoint> Timeline { get; init; } = [];

    /// <summary>(seconds since the start, errors per second) per interval.</summary>
    public IReadOnlyList<double[]> ErrorsOverTime { get; init; } = [];

    /// <summary>Per operation, its percentile distribution over the measured run: (percentile, milliseconds) points.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double[]>> Curves { get; init; } = new Dictionary<string, IReadOnlyList<double[]>>();
}

internal sealed record Verdict(bool Passed, int ExitCode, IReadOnlyList<string> Failures);

[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LoadTestReport))]
internal sealed partial class ReportJson : JsonSerializerContext;
