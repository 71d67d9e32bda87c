using Cluster.LoadTest.CommandLine;

namespace Cluster.LoadTest.Tests;

public sealed class LoadTestOptionsTests
{
    [Fact]
    public void Parse_TheDocumentedCommand_ReadsEveryValue()
    {
        var options = LoadTestOptions.Parse(
        [
            "fanout", "--targets", "http://127.0.0.1:8081,http://127.0.0.1:8082", "--accounts", "1_000", "--devices", "5",
            "--rate", "200/s", "--duration", "1.5m", "--warmup=500ms", "--count", "1000", "--message-bytes", "1024",
            "--max-p99-ms", "250", "--max-error-rate", "1%", "--no-live",
        ]);

        Assert.Equal(ScenarioKind.Fanout, options.Scenario);
        Assert.Equal([new Uri("http://127.0.0.1:8081"), new Uri("http://127.0.0.1:8082")], options.Targets);
        Assert.Equal(1000, options.Accounts);
        Assert.Equal(5, options.DevicesPerAccount);
        Assert.Equal(200, options.Rate);
        Assert.True(options.OpenLoop);
        Assert.Equal(TimeSpan.FromSeconds(90), options.Duration);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Warmup);
        Assert.Equal(1000, options.Count);
        Assert.Equal(1024, options.MessageBytes);
        Assert.Equal(250, options.MaxP99Ms);
        Assert.Equal(0.01, options.MaxErrorRate!.Value, 9);
        Assert.False(options.Live);
    }

    [Fact]
    public void Parse_NothingButTheScenario_IsBoundedByDefaults()
    {
        var options = LoadTestOptions.Parse(["calls"]);

        Assert.Equal(TimeSpan.FromSeconds(60), options.Duration);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Drain);
        Assert.True(options.OpenLoop);
        Assert.Equal(100, options.EffectiveRate);
        Assert.Equal(0.01, options.MaxErrorRate);
        Assert.Equal([new Uri("http://127.0.0.1:8080")], options.Targets);
        Assert.Equal(Cluster.Client.Messaging.SendTransport.Socket, options.SendOver);
    }

    [Theory]
    [InlineData("http", Cluster.Client.Messaging.SendTransport.Http)]
    [InlineData("socket", Cluster.Client.Messaging.SendTransport.Socket)]
    public void Parse_SendOver_ReadsTheTransport(string value, Cluster.Client.Messaging.SendTransport transport) =>
        Assert.Equal(transport, LoadTestOptions.Parse(["fanout", "--send-over", value]).SendOver);

    [Theory]
    [InlineData("bogus")]
    [InlineData("fanout", "--rate", "10", "--concurrency", "4")]
    [InlineData("fanout", "--devices", "6")]
    [InlineData("link-churn", "--devices", "5")]
    [InlineData("fanout", "--accounts", "1")]
    [InlineData("fanout", "--targets", "ftp://x")]
    [InlineData("fanout", "--duration", "soon")]
    [InlineData("fanout", "--max-error-rate", "150%")]
    [InlineData("fanout", "--message-bytes", "8")]
    [InlineData("fanout", "--unknown", "1")]
    [InlineData("fanout", "--accounts")]
    [InlineData("fanout", "--send-over", "carrier-pigeon")]
    public void Parse_WrongCommandLine_ThrowsWithTheProblem(params string[] args)
    {
        var problem = Assert.Throws<UsageException>(() => LoadTestOptions.Parse(args)).Problem;

        Assert.False(string.IsNullOrWhiteSpace(problem));
    }

    [Fact]
    public void Parse_Help_ThrowsWithoutAProblem() =>
        Assert.Null(Assert.Throws<UsageException>(() => LoadTestOptions.Parse(["fanout", "--help"])).Problem);
}
