using Cluster.Testing;

namespace Cluster.Faults.Tests;

/// <summary>
/// A PostgreSQL server of this test's own, through <c>deploy/local/postgres.sh</c> with its own directory and a free
/// port, so that the test can stop and start it without disturbing the tests that share the project's server.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    /// <summary>postgres.sh's exit code when PostgreSQL is not installed and cannot be installed here.</summary>
    private const int Unavailable = 69;

    private readonly string directory;
    private readonly int port;
    private readonly string script;

    private PrivatePostgres(string directory, int port, string script, string connectionString)
    {
        this.directory = directory;
        this.port = port;
        this.script = script;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    /// <summary>Starts a fresh server; skips the test when PostgreSQL is not installed and cannot be installed.</summary>
    public static async Task<PrivatePostgres> StartAsync()
    {
        var script = Path.Combine(ExternalTool.RepositoryRoot, "deploy", "local", "postgres.sh");
        var directory = Directory.CreateTempSubdirectory("cluster-faults-pg-").FullName;
        var port = FreePorts.Reusable();
        var (code, stdout, stderr) = await RunAsync(script, directory, port, "start");
        if (code == Unavailable)
        {
            Directory.Delete(directory, recursive: true);
            Assert.Skip($"PostgreSQL is not installed and cannot be installed here (deploy/local/postgres.sh exit 69): {stderr.Trim()}");
        }

        if (code != 0)
        {
            throw new InvalidOperationException($"postgres.sh start failed ({code}): {stderr}");
        }

        return new PrivatePostgres(directory, port, script, stdout.Trim().Split('\n')[^1]);
    }

    /// <summary>Stops the server (fast shutdown: open connections are cut).</summary>
    public Task StopAsync() => RunCheckedAsync("stop");

    /// <summary>Starts the stopped server again on the same port and data.</summary>
    public Task StartAgainAsync() => RunCheckedAsync("start");

    public async ValueTask DisposeAsync()
    {
        await RunAsync(script, directory, port, "stop");
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // As root the data belongs to the postgres user; the temp directory is cleaned by the OS later.
        }
    }

    private async Task RunCheckedAsync(string command)
    {
        var (code, _, stderr) = await RunAsync(script, directory, port, command);
        if (code != 0)
        {
            throw new InvalidOperationException($"postgres.sh {command} failed ({code}): {stderr}");
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string script, string directory, int port, string command)
    {
        var result = await ExternalTool.RunAsync(
            "bash",
            [script, command],
            environment: new Dictionary<string, string>
            {
                ["CLUSTER_PG_DIR"] = directory,
                ["CLUSTER_PG_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            timeout: TimeSpan.FromMinutes(3));
        return (result.ExitCode, result.Stdout, result.Stderr);
    }
}
