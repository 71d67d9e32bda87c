using Cluster.Testing;

namespace Cluster.Interop.Tests;

/// <summary>
/// A client generated from the committed OpenAPI document (<c>docs/openapi.json</c>) works against a silo:
/// <c>openapi-typescript</c> regenerates the types, <c>tsc</c> checks <c>openapi-client.mjs</c> against them (so a
/// document change that breaks a generated call fails here), and the script, through <c>openapi-fetch</c> only,
/// registers two accounts, lists devices, fetches a bundle, sends a message read on the recipient's socket and gets
/// a typed 409 mismatched_devices. Skipped, with the reason, where Node.js or the node modules are missing.
/// </summary>
public sealed class OpenApiClientInteropTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GeneratedClient_FromCommittedDocument_RegistersSendsAndReadsTypedConflict()
    {
        var node = NodeScripts.Require("ws", "openapi-fetch", "openapi-typescript", "typescript", "@types/node");
        var document = Path.Combine(ExternalTool.RepositoryRoot, "docs", "openapi.json");

        var generated = await node.RunAsync(
            Path.Combine("node_modules", "openapi-typescript", "bin", "cli.js"),
            [document, "-o", Path.Combine("generated", "openapi.d.ts")],
            ToolTimeout,
            Cancel);
        Assert.True(generated.ExitCode == 0, $"openapi-typescript exited with {generated.ExitCode}.\n{generated}");

        var typeCheck = await node.RunAsync(Path.Combine("node_modules", "typescript", "bin", "tsc"), ["-p", "tsconfig.json"], ToolTimeout, Cancel);
        Assert.True(typeCheck.ExitCode == 0, $"tsc found type errors against the generated client.\n{typeCheck}");

        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var result = await node.RunAsync("openapi-client.mjs", [silo.BaseAddress.ToString()], ToolTimeout, Cancel);

        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, $"openapi-client.mjs exited with {result.ExitCode}.\n{result}");
        Assert.Contains("openapi-client: OK:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("sent 1 message, decrypted on B's socket", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("409 mismatched_devices missingDevices [1] extraDevices [7]", result.Stdout, StringComparison.Ordinal);
    }
}
