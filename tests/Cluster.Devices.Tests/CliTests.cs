using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Cluster.Cli;
using Cluster.Cli.Provisioning;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Devices.Tests;

/// <summary>The <c>provision</c> command, run through the same code path as <c>dotnet run --project src/Cluster.Cli</c>.</summary>
[Collection(SharedSilo.Name)]
public sealed class CliTests(SiloFixture fixture)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Provision_PrimarySendsBody_QrPrintedAndArrivalReported()
    {
        var silo = fixture.Silo;
        var primary = await TestAccounts.RegisterAsync(silo);
        var output = new LineWriter();
        var error = new LineWriter();
        var run = CliApplication.RunAsync(["provision", "--server", silo.BaseAddress.ToString()], output, error, Cancel);

        var address = (await output.NextLineStartingWithAsync(ProvisionCommand.AddressLinePrefix, "the provisioning address"))[ProvisionCommand.AddressLinePrefix.Length..];
        var link = (await output.NextLineStartingWithAsync(ProvisionCommand.LinkLinePrefix, "the link under the QR code"))[ProvisionCommand.LinkLinePrefix.Length..];
        using var http = primary.CreateClient(silo);
        var body = new string('p', 1234) + "\u00e9";
        using var response = await Provisioning.PutAsync(http, address, body, Cancel);
        var exitCode = await run.WaitAsync(TimeSpan.FromSeconds(15), Cancel);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(ExitCodes.Success, exitCode);
        var printed = output.Text;
        Assert.Contains(TerminalQrCode.Render(link), printed, StringComparison.Ordinal);
        Assert.Contains('\u2588', printed);
        var query = new Uri(link).Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
        Assert.StartsWith("cluster://link?", link, StringComparison.Ordinal);
        Assert.Equal(address, query["address"]);
        var identityKey = Base64Url.DecodeFromChars(query["pub"]);
        Assert.Equal(33, identityKey.Length);
        Assert.Equal(0x05, identityKey[0]);
        Assert.Contains($"Provisioning message arrived: {Encoding.UTF8.GetByteCount(body)} bytes.", printed, StringComparison.Ordinal);
        Assert.Equal("", error.Text);
    }

    [Theory]
    [InlineData(new string[0], ExitCodes.Usage)]
    [InlineData(new[] { "frobnicate" }, ExitCodes.Usage)]
    [InlineData(new[] { "provision", "--server" }, ExitCodes.Usage)]
    [InlineData(new[] { "provision", "--server", "ftp://example.org" }, ExitCodes.Usage)]
    [InlineData(new[] { "provision", "--colour" }, ExitCodes.Usage)]
    [InlineData(new[] { "--help" }, ExitCodes.Success)]
    public async Task Run_CommandLine_ExitCodeAndUsage(string[] args, int expected)
    {
        var output = new LineWriter();
        var error = new LineWriter();

        var exitCode = await CliApplication.RunAsync(args, output, error, Cancel);

        Assert.Equal(expected, exitCode);
        Assert.Contains("Usage: cluster provision", output.Text + error.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provision_ServerUnreachable_Failure()
    {
        var output = new LineWriter();

        var exitCode = await CliApplication.RunAsync(["provision", "--server", $"http://127.0.0.1:{FreePorts.Next()}"], output, new LineWriter(), Cancel);

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Contains("Could not open ws://127.0.0.1:", output.Text, StringComparison.Ordinal);
    }
}

/// <summary>The <c>provision</c> command against a silo on a fake clock.</summary>
public sealed class CliExpiryTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Provision_AddressExpires_FailureNamingTheClose()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var output = new LineWriter();
        var run = CliApplication.RunAsync(["provision", "--server", silo.BaseAddress.ToString()], output, new LineWriter(), Cancel);
        await output.NextLineStartingWithAsync(ProvisionCommand.AddressLinePrefix, "the provisioning address");

        time.Advance(TimeSpan.FromMinutes(10));
        var exitCode = await run.WaitAsync(TimeSpan.FromSeconds(15), Cancel);

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Contains("No provisioning message arrived (the server closed the socket: 1000 provisioning address expired).", output.Text, StringComparison.Ordinal);
    }
}

/// <summary>A writer for the tool's output that a test can await line by line.</summary>
internal sealed class LineWriter : TextWriter
{
    private readonly Channel<string> lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder all = new();
    private readonly StringBuilder line = new();
    private readonly Lock gate = new();

    public override Encoding Encoding => Encoding.UTF8;

    public string Text
    {
        get
        {
            lock (gate)
            {
                return all.ToString();
            }
        }
    }

    public override void Write(char value)
    {
        lock (gate)
        {
            all.Append(value);
            if (value == '\n')
            {
                lines.Writer.TryWrite(line.ToString().TrimEnd('\r'));
                line.Clear();
            }
            else
            {
                line.Append(value);
            }
        }
    }

    /// <summary>Skips lines until one starts with <paramref name="prefix"/>, and returns it.</summary>
    public async Task<string> NextLineStartingWithAsync(string prefix, string expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (true)
            {
                var next = await lines.Reader.ReadAsync(timeout.Token);
                if (next.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return next;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the tool printed no line starting '{prefix}' ({expected}); it printed:\n{Text}");
        }
    }
}
