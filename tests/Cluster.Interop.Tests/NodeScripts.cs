using System.Diagnostics;

namespace Cluster.Interop.Tests;

/// <summary>What a Node script of <c>tests/interop/</c> did.</summary>
internal sealed record NodeScriptResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>The Node.js executable and the <c>tests/interop/</c> folder with its node modules installed.</summary>
internal sealed class NodeScripts(string node, string directory)
{
    /// <summary>
    /// Skips the calling test unless <c>node</c> is on PATH and <c>npm ci</c> has run in <c>tests/interop</c>: libsignal
    /// and each of <paramref name="packages"/> (further npm packages the script imports) are installed.
    /// </summary>
    public static NodeScripts Require(params string[] packages)
    {
        var node = FindOnPath(OperatingSystem.IsWindows() ? "node.exe" : "node");
        Assert.SkipWhen(node is null, "Node.js is not installed: `node` is not on PATH.");
        var directory = Path.Combine(RepositoryRoot(), "tests", "interop");
        foreach (var package in (string[])["@signalapp/libsignal-client", .. packages])
        {
            Assert.SkipUnless(
                File.Exists(Path.Combine([directory, "node_modules", .. package.Split('/'), "package.json"])),
                $"tests/interop/node_modules has no {package}: run `npm ci --prefix tests/interop` ({directory}).");
        }

        return new NodeScripts(node!, directory);
    }

    /// <summary>Runs <c>node script args</c> in <c>tests/interop</c>; a run past <paramref name="timeout"/> is killed and fails.</summary>
    public async Task<NodeScriptResult> RunAsync(string script, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(node)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(directory, script));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{node} did not start");
        process.StandardInput.Close();
        // Not cancellable: killing the process ends both streams, and what it printed until then is the diagnosis.
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            var killed = new NodeScriptResult(process.ExitCode, await stdout, await stderr);
            cancellationToken.ThrowIfCancellationRequested();
            Assert.Fail($"{script} did not finish within {timeout.TotalSeconds:0} s and was killed.\n{killed}");
        }

        return new NodeScriptResult(process.ExitCode, await stdout, await stderr);
    }

    private static string? FindOnPath(string executable) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, executable))
            .FirstOrDefault(File.Exists);

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cluster.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"Cluster.sln not found above {AppContext.BaseDirectory}");
    }
}
