using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Devices.Tests;

[Collection(SharedSilo.Name)]
public sealed class ProvisioningTests(SiloFixture fixture)
{
    private const int MaxBodyBytes = 256 * 1024;

    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Connect_FirstFrame_IsAFreshAddressOf16RandomBytes()
    {
        var (first, firstAddress) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await using var _ = first;
        var (second, secondAddress) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await using var __ = second;

        foreach (var address in new[] { firstAddress, secondAddress })
        {
            Assert.Matches("^[A-Za-z0-9_-]{22}$", address);
            Assert.Equal(16, Base64Url.DecodeFromChars(address).Length);
        }

        Assert.NotEqual(firstAddress, secondAddress);
    }

    [Fact]
    public async Task Put_ByPrimary_SocketGetsExactBodyThenCloses()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var (socket, address) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await using var _ = socket;
        using var http = primary.CreateClient(Silo);
        const string body = "CiQIARIg+/=\"quoted\" \\ \u00e9\u4e2d\ud83d\ude00 line\nbreak";

        using var response = await Provisioning.PutAsync(http, address, body, Cancel);
        var frame = await socket.NextAsync("the provision frame");
        var status = await socket.ClosedAsync("after relaying the body");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("provision", (string?)frame["kind"]);
        Assert.Equal(body, (string?)frame["body"]);
        Assert.Equal(2, frame.Count);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
    }

    [Fact]
    public async Task Put_SameAddressTwice_SecondIsNotFound()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var (socket, address) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await using var _ = socket;
        using var http = primary.CreateClient(Silo);

        using var first = await Provisioning.PutAsync(http, address, "first", Cancel);
        using var second = await Provisioning.PutAsync(http, address, "second", Cancel);
        var frame = await socket.NextAsync("the first provision frame");
        await socket.ClosedAsync("after relaying the first body");

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
        Assert.Equal("not_found", await Provisioning.ErrorOf(second, Cancel));
        Assert.Equal("first", (string?)frame["body"]);
        Assert.False(socket.TryTake(out var extra), $"only one body may go through, yet another frame came: {extra?.ToJsonString()}");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-an-address")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Put_AddressNobodyWaitsAt_NotFound(string? address)
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);

        using var response = await Provisioning.PutAsync(http, address ?? Provisioning.UnusedAddress(), "body", Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", await Provisioning.ErrorOf(response, Cancel));
    }

    [Fact]
    public async Task Put_DeviceClosedItsSocket_NotFound()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var (socket, address) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await socket.DisposeAsync();
        using var http = primary.CreateClient(Silo);

        // The close handshake is done when DisposeAsync returns, and the server forgets the address before its half.
        using var response = await Provisioning.PutAsync(http, address, "body", Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Put_ByCompanion_ForbiddenAndAddressStillUsable()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var companion = await TestAccounts.AddCompanionAsync(Silo, primary);
        var (socket, address) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await using var _ = socket;
        using var companionHttp = companion.CreateClient(Silo);
        using var primaryHttp = primary.CreateClient(Silo);

        using var refused = await Provisioning.PutAsync(companionHttp, address, "from a companion", Cancel);
        using var accepted = await Provisioning.PutAsync(primaryHttp, address, "from the primary", Cancel);
        var frame = await socket.NextAsync("the primary's provision frame");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("forbidden", await Provisioning.ErrorOf(refused, Cancel));
        Assert.Equal(HttpStatusCode.NoContent, accepted.StatusCode);
        Assert.Equal("from the primary", (string?)frame["body"]);
    }

    [Fact]
    public async Task Put_Unauthenticated_Unauthorized()
    {
        var (socket, address) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await using var _ = socket;
        using var anonymous = Silo.CreateHttpClient();
        using var wrong = Silo.CreateHttpClient();
        wrong.DefaultRequestHeaders.Authorization = TestDevice.BasicAuth("+15550000000.1", "not-the-password-at-all");

        using var noCredentials = await Provisioning.PutAsync(anonymous, address, "body", Cancel);
        using var badCredentials = await Provisioning.PutAsync(wrong, address, "body", Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, noCredentials.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, badCredentials.StatusCode);
        Assert.Equal("unauthorized", await Provisioning.ErrorOf(noCredentials, Cancel));
        Assert.False(socket.TryTake(out var frame), $"nothing may be relayed without credentials, got {frame?.ToJsonString()}");
    }

    [Fact]
    public async Task Put_BodyOver256KiB_PayloadTooLarge_256KiBExactlyRelayed()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var (socket, address) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await using var _ = socket;
        using var http = primary.CreateClient(Silo);
        var largest = new string('b', MaxBodyBytes);

        using var tooLarge = await Provisioning.PutAsync(http, address, largest + "b", Cancel);
        // Multi-byte characters count as their UTF-8 bytes: 87382 × 3 bytes is just over the limit.
        using var tooLargeUtf8 = await Provisioning.PutAsync(http, address, new string('\u4e2d', (MaxBodyBytes / 3) + 1), Cancel);
        using var accepted = await Provisioning.PutAsync(http, address, largest, Cancel);
        var frame = await socket.NextAsync("the 256 KiB provision frame");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal("payload_too_large", await Provisioning.ErrorOf(tooLarge, Cancel));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLargeUtf8.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, accepted.StatusCode);
        Assert.Equal(largest, (string?)frame["body"]);
    }

    [Fact]
    public async Task Put_MissingOrMalformedBody_BadRequest()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        var (socket, address) = await TestSocket.OpenProvisioningAsync(Silo, Cancel);
        await using var _ = socket;
        using var http = primary.CreateClient(Silo);
        var path = $"/v1/provisioning/{address}";

        using var missing = await http.PutAsJsonAsync(path, new JsonObject(), Cancel);
        using var notAString = await http.PutAsJsonAsync(path, new JsonObject { ["body"] = 42 }, Cancel);
        using var empty = await http.PutAsJsonAsync(path, new JsonObject { ["body"] = "" }, Cancel);
        using var notJson = await http.PutAsync(path, new StringContent("{\"body\":\"x\"}", Encoding.UTF8, "text/plain"), Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var error = await missing.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal("missing_field", (string?)error!["error"]);
        Assert.Equal("body", (string?)error["field"]);
        Assert.Equal(HttpStatusCode.BadRequest, notAString.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJson.StatusCode);
        Assert.False(socket.TryTake(out var frame), $"a refused request relays nothing, got {frame?.ToJsonString()}");
    }

    [Fact]
    public async Task Connect_WithoutWebSocketUpgrade_BadRequest()
    {
        using var http = Silo.CreateHttpClient();

        using var response = await http.GetAsync("/v1/provisioning", Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("websocket_required", await Provisioning.ErrorOf(response, Cancel));
    }
}

/// <summary>Provisioning on a silo of its own, on a fake clock.</summary>
public sealed class ProvisioningLifetimeTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lifetime_TenMinutesPass_SocketClosesAndPutNotFound()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        using var http = primary.CreateClient(silo);
        var (early, earlyAddress) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var _ = early;
        var (late, lateAddress) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var __ = late;

        time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        using var inTime = await Provisioning.PutAsync(http, earlyAddress, "just in time", Cancel);
        var frame = await early.NextAsync("the provision frame sent a second before expiry");
        time.Advance(TimeSpan.FromSeconds(1));
        var status = await late.ClosedAsync("when its 10 minutes are up");
        using var tooLate = await Provisioning.PutAsync(http, lateAddress, "too late", Cancel);

        Assert.Equal(HttpStatusCode.NoContent, inTime.StatusCode);
        Assert.Equal("just in time", (string?)frame["body"]);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        Assert.Equal("provisioning address expired", late.CloseDescription);
        Assert.False(late.TryTake(out var extra), $"an expired socket gets no body, got {extra?.ToJsonString()}");
        Assert.Equal(HttpStatusCode.NotFound, tooLate.StatusCode);
    }

    [Fact]
    public async Task Shutdown_WaitingSocket_ClosedWith1001()
    {
        var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        await using var _ = silo;
        var (socket, _) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var __ = socket;

        await silo.StopAsync();

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await socket.ClosedAsync("with 1001 when the silo shuts down"));
    }

    [Fact]
    public async Task Lifetime_Configured_SocketClosesThen()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Time = time,
            Settings = new Dictionary<string, string> { ["Provisioning:SocketLifetime"] = "00:02:00" },
        }, Cancel);
        var (socket, _) = await TestSocket.OpenProvisioningAsync(silo, Cancel);
        await using var _ = socket;

        time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(WebSocketCloseStatus.NormalClosure, await socket.ClosedAsync("after the configured 2 minutes"));
    }
}
