using Cluster.Testing;

namespace Cluster.Interop.Tests;

/// <summary>The Node.js executable and the <c>tests/interop/</c> folder with its node modules installed.</summary>
internal sealed class NodeScripts(string node, string directory)
{
    /// <summary>
    /// Skips the calling test unless <c>node</c> is on PATH and <c>npm ci</c> has run in <c>tests/interop</c>: libsignal
    /// and each of <paramref name="packages"/> (further npm packages the script imports) are installed.
    /// </summary>
    public static NodeScripts Require(params string[] packages)
    {
        var node = ExternalTool.Find(OperatingSystem.IsWindows() ? "node.exe" : "node");
        Assert.SkipWhen(node is null, "Node.js is not installed: `node` is not on PATH.");
        var directory = Path.Combine(ExternalTool.RepositoryRoot, "tests", "interop");
        foreach (var package in (string[])["@signalapp/libsignal-client", .. packages])
        {
            Assert.SkipUnless(
                File.Exists(Path.Combine([directory, "node_modules", .. package.Split('/'), "package.json"])),
                $"tests/interop/node_modules has no {package}: run `npm ci --prefix tests/interop` ({directory}).");
        }

        return new NodeScripts(node!, directory);
    }

    /// <summary>Runs <c>node script args</c> in <c>tests/interop</c>; a run past <paramref name="timeout"/> is killed and fails.</summary>
    public async Task<ToolResult> RunAsync(string script, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await ExternalTool.RunAsync(
                node,
                [Path.Combine(directory, script), .. args],
                directory,
                environment: new Dictionary<string, string> { ["NO_COLOR"] = "1" },
                timeout: timeout,
                cancellationToken: cancellationToken);
        }
        catch (TimeoutException ex)
        {
            Assert.Fail(ex.Message);
            throw;
        }
    }
}
