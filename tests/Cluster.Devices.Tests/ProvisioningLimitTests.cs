using System.Net;
using System.Net.WebSockets;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Devices.Tests;

/// <summary>Provisioning sockets are anonymous: a rate and a cap per client address, and a cap per silo.</summary>
public sealed class ProvisioningLimitTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OpenProvisioning_OverClientAddressRate_TooManyRequestsUntilRefilled()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(time, ("AnonymousLimits:ProvisioningBurst", "2"), ("AnonymousLimits:ProvisioningRefillSeconds", "10")), Cancel);
        var (first, _) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var firstSocket = first;
        var (second, _) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var secondSocket = second;

        var refused = await RefusedUpgradeAsync(silo);
        using var http = silo.CreateHttpClient();
        using var plain = await http.GetAsync("/v1/provisioning", Cancel);
        time.Advance(TimeSpan.FromSeconds(10));
        var (third, _) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var thirdSocket = third;

        Assert.Equal((HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(10)), refused);
        await RateLimits.AssertLimitedAsync(plain, "provisioning_ip", 10);
    }

    [Fact]
    public async Task OpenProvisioning_OverPerClientCap_TooManyRequestsUntilOneCloses()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null,
            ("Provisioning:MaxSocketsPerClientAddress", "2"),
            ("ClientAddresses:TrustForwardedHeaders", "true"),
            ("ClientAddresses:KnownProxies:0", "127.0.0.1")), Cancel);
        var first = await OpenAsync(silo, "203.0.113.1");
        await using var second = await OpenAsync(silo, "203.0.113.1");

        var refused = await RefusedUpgradeAsync(silo, "203.0.113.1");
        await using var otherClient = await OpenAsync(silo, "203.0.113.2");
        await first.DisposeAsync();
        TestSocket? reopened = null;
        await Eventually.TrueAsync(
            async () => (reopened = await TryOpenAsync(silo, "203.0.113.1")) is not null,
            TimeSpan.FromSeconds(15),
            () => "a provisioning socket to open again once one of the client's two closed");
        await reopened!.DisposeAsync();

        Assert.Equal((HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(5)), refused);
    }

    [Fact]
    public async Task OpenProvisioning_OverSiloCap_AtCapacity()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(null, ("Provisioning:MaxSockets", "2")), Cancel);
        var (first, _) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var firstSocket = first;
        var (second, _) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var secondSocket = second;

        var refused = await RefusedUpgradeAsync(silo);

        Assert.Equal((HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(5)), refused);
    }

    private static async Task<TestSocket> OpenAsync(TestSilo silo, string forwardedFor) =>
        await TryOpenAsync(silo, forwardedFor) ?? throw new InvalidOperationException($"the provisioning socket of {forwardedFor} was refused");

    private static async Task<TestSocket?> TryOpenAsync(TestSilo silo, string forwardedFor)
    {
        var socket = NewSocket(forwardedFor);
        try
        {
            await socket.ConnectAsync(Uri(silo), Cancel);
        }
        catch (WebSocketException) when (socket.HttpStatusCode == HttpStatusCode.TooManyRequests)
        {
            socket.Dispose();
            return null;
        }

        var opened = new TestSocket(socket);
        await opened.NextAsync("the address frame");
        return opened;
    }

    /// <summary>Tries an upgrade that the silo should refuse; its status and <c>Retry-After</c>.</summary>
    private static async Task<(HttpStatusCode Status, TimeSpan? RetryAfter)> RefusedUpgradeAsync(TestSilo silo, string? forwardedFor = null)
    {
        using var socket = NewSocket(forwardedFor);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(Uri(silo), Cancel));
        var retryAfter = socket.HttpResponseHeaders?.TryGetValue("Retry-After", out var values) == true
            ? TimeSpan.FromSeconds(int.Parse(values.Single(), System.Globalization.CultureInfo.InvariantCulture))
            : (TimeSpan?)null;
        return (socket.HttpStatusCode, retryAfter);
    }

    private static ClientWebSocket NewSocket(string? forwardedFor)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (forwardedFor is not null)
        {
            socket.Options.SetRequestHeader("X-Forwarded-For", forwardedFor);
        }

        return socket;
    }

    private static Uri Uri(TestSilo silo) => new UriBuilder(silo.BaseAddress) { Scheme = "ws", Path = "/v1/provisioning" }.Uri;
}
