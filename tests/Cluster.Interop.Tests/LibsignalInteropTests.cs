using Cluster.Testing;

namespace Cluster.Interop.Tests;

/// <summary>
/// Real libsignal clients (<c>@signalapp/libsignal-client</c>, the Node scripts of <c>tests/interop/</c>) against a silo
/// of this process. Skipped, with the reason, where Node.js or the scripts' node modules are missing.
/// </summary>
public sealed class LibsignalInteropTests
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(2);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PreKeySession_RealLibsignalClients_EstablishSessionThroughServer()
    {
        var node = NodeScripts.Require();
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);

        var result = await node.RunAsync("prekey-session.mjs", [silo.BaseAddress.ToString()], ScriptTimeout, Cancel);

        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, $"prekey-session.mjs exited with {result.ExitCode}.\n{result}");
        Assert.True(result.Stdout.Contains("prekey-session: OK:", StringComparison.Ordinal), $"no success summary.\n{result}");
    }

    /// <summary>
    /// <c>multi-device.mjs</c>: A and B with three devices each, companions linked with ADV signatures made by libsignal
    /// and signed device lists, every device on its own WebSocket; each A device sends real ciphertext to each B device
    /// (and sync copies to its own devices), each device decrypts exactly its own envelopes, and a B device's reply over
    /// the established sessions decrypts on every A device.
    /// </summary>
    [Fact]
    public async Task MultiDevice_RealLibsignalClients_LinkAndMessageThroughServer()
    {
        var node = NodeScripts.Require("ws");
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);

        var result = await node.RunAsync("multi-device.mjs", [silo.BaseAddress.ToString()], ScriptTimeout, Cancel);

        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, $"multi-device.mjs exited with {result.ExitCode}.\n{result}");
        Assert.True(result.Stdout.Contains("multi-device: OK:", StringComparison.Ordinal), $"no success summary.\n{result}");
    }

    /// <summary>
    /// <c>group.mjs</c>: three accounts of three devices each (primary and two linked companions) in one group; every
    /// device distributes its libsignal sender key to the other eight over pairwise sessions (direct envelopes) and sends
    /// one <c>groupEncrypt</c> ciphertext through the group send, which each of the eight decrypts with <c>groupDecrypt</c>;
    /// after a member's removal the old view is refused with 409 naming it, and messages under rotated keys reach only the
    /// remaining devices.
    /// </summary>
    [Fact]
    public async Task Group_RealLibsignalSenderKeys_EveryDeviceDecryptsAndRemovedMemberGetsNothing()
    {
        var node = NodeScripts.Require("ws");
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);

        var result = await node.RunAsync("group.mjs", [silo.BaseAddress.ToString()], TimeSpan.FromMinutes(3), Cancel);

        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, $"group.mjs exited with {result.ExitCode}.\n{result}");
        Assert.True(result.Stdout.Contains("group: OK:", StringComparison.Ordinal), $"no success summary.\n{result}");
        Assert.Contains("72 group messages decrypted with groupDecrypt", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("10 messages under rotated keys", result.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>demo.mjs</c>, the README's one-command demo: two accounts register with codes, a laptop links by the QR flow
    /// (a sealed provisioning message the server relays), messages go both ways to every device, a call rings both of
    /// the callee's devices and the laptop's answer wins, and every inbox ends empty. Each chapter of the story must be
    /// told, in order.
    /// </summary>
    [Fact]
    public async Task Demo_RealLibsignalClients_TellTheWholeStory()
    {
        var node = NodeScripts.Require("ws");
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);

        var result = await node.RunAsync("demo.mjs", [silo.BaseAddress.ToString()], ScriptTimeout, Cancel);

        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, $"demo.mjs exited with {result.ExitCode}.\n{result}");
        string[] story =
        [
            "1. Alice and Bob register with verification codes",
            "links itself as device 2 of",
            "Alice's phone decrypts \"Hi Alice, dinner at eight?\"",
            "Alice's laptop decrypts \"Hi Alice, dinner at eight?\"",
            "Bob's phone decrypts \"Yes! See you there.\"",
            "Alice's phone decrypts \"Yes! See you there.\"",
            "The laptop answers first; Bob's phone hears it (byDevice 2",
            "409 call_not_ringing",
            "the laptop gets callEnded (hangup)",
            "Every inbox is empty",
            "demo: OK",
        ];
        var at = 0;
        foreach (var line in story)
        {
            var found = result.Stdout.IndexOf(line, at, StringComparison.Ordinal);
            Assert.True(found >= 0, $"the story lacks, after position {at}: {line}\n{result}");
            at = found + line.Length;
        }
    }
}
