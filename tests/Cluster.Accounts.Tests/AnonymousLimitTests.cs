using System.Net;
using System.Net.Http.Json;
using Cluster.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>Per-client-address limits on registration and linking, and which client address counts.</summary>
public sealed class AnonymousLimitTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Register_OverClientAddressBurst_TooManyRequestsUntilRefilled()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(time, ("AnonymousLimits:RegistrationBurst", "2"), ("AnonymousLimits:RegistrationRefillSeconds", "30")), Cancel);
        using var http = silo.CreateHttpClient();

        using var first = await RegisterAsync(silo, http);
        using var second = await RegisterAsync(silo, http);
        var (refused, refusedBody) = TestAccounts.NewRegistration();
        using var limited = await http.PostAsJsonAsync("/v1/accounts", refusedBody, Cancel);
        time.Advance(TimeSpan.FromSeconds(30));
        using var refilled = await RegisterAsync(silo, http);
        using var stored = await refused.CreateClient(silo).GetAsync("/v1/devices", Cancel);
        var metrics = await http.GetStringAsync("/metrics", Cancel);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        await RateLimits.AssertLimitedAsync(limited, "registration_ip", 30);
        Assert.Equal(HttpStatusCode.Created, refilled.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stored.StatusCode);
        Assert.Contains(
            metrics.Split('\n'),
            line => line.StartsWith("cluster_rate_limited_total{", StringComparison.Ordinal) && line.Contains("limit=\"registration_ip\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Link_OverClientAddressBurst_TooManyRequests()
    {
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(null, ("AnonymousLimits:LinkBurst", "2"), ("AnonymousLimits:LinkRefillSeconds", "30")), Cancel);
        var primary = await TestAccounts.RegisterAsync(silo);
        var token = await Linking.TokenAsync(silo, primary);
        using var http = silo.CreateHttpClient();

        // Refused links use the budget too: guessing tokens is what it is for.
        var (_, wrongToken) = Linking.NewRequest(primary, "not-the-token", keyIndex: 2);
        using var firstGuess = await http.PutAsJsonAsync("/v1/devices/link", wrongToken, Cancel);
        using var secondGuess = await http.PutAsJsonAsync("/v1/devices/link", wrongToken, Cancel);
        var (_, valid) = Linking.NewRequest(primary, token, keyIndex: 2);
        using var limited = await http.PutAsJsonAsync("/v1/devices/link", valid, Cancel);
        var devices = await silo.Grains.GetGrain<Cluster.Abstractions.Accounts.IAccountGrain>(primary.AccountId).GetDevicesAsync();

        Assert.Equal(HttpStatusCode.Forbidden, firstGuess.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, secondGuess.StatusCode);
        await RateLimits.AssertLimitedAsync(limited, "link_ip", 30);
        Assert.Single(devices);
    }

    [Fact]
    public async Task Register_ForwardedForWithoutTrustedProxy_LimitedByPeerAddress()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(null, ("AnonymousLimits:RegistrationBurst", "1")), Cancel);
        using var http = silo.CreateHttpClient();

        using var first = await RegisterAsync(silo, http, forwardedFor: "203.0.113.1");
        using var spoofed = await RegisterAsync(silo, http, forwardedFor: "203.0.113.2");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        await RateLimits.AssertLimitedAsync(spoofed, "registration_ip", 30);
    }

    [Fact]
    public async Task Register_ForwardedForFromTrustedProxy_LimitedPerForwardedClient()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null,
            ("AnonymousLimits:RegistrationBurst", "1"),
            ("ClientAddresses:TrustForwardedHeaders", "true"),
            ("ClientAddresses:KnownProxies:0", "127.0.0.1")), Cancel);
        using var http = silo.CreateHttpClient();

        using var first = await RegisterAsync(silo, http, forwardedFor: "203.0.113.1");
        using var otherClient = await RegisterAsync(silo, http, forwardedFor: "203.0.113.2");
        using var sameClient = await RegisterAsync(silo, http, forwardedFor: "203.0.113.1");
        using var sameIPv6Network = await RegisterAsync(silo, http, forwardedFor: "2001:db8:1:2::1");
        using var otherIPv6Host = await RegisterAsync(silo, http, forwardedFor: "2001:db8:1:2::2");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, otherClient.StatusCode);
        await RateLimits.AssertLimitedAsync(sameClient, "registration_ip", 30);
        Assert.Equal(HttpStatusCode.Created, sameIPv6Network.StatusCode);
        await RateLimits.AssertLimitedAsync(otherIPv6Host, "registration_ip", 30);
    }

    [Theory]
    [InlineData("ClientAddresses:TrustForwardedHeaders", "true", "ClientAddresses:TrustForwardedHeaders")]
    [InlineData("ClientAddresses:KnownProxies:0", "not-an-ip", "ClientAddresses:KnownProxies")]
    [InlineData("ClientAddresses:KnownNetworks:0", "10.0.0.0/99", "ClientAddresses:KnownNetworks")]
    public async Task Start_BadClientAddressSetting_FailsNamingKey(string key, string value, string named)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => TestSilo.StartAsync(RateLimits.With(null, (key, value)), Cancel));

        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> RegisterAsync(TestSilo silo, HttpClient http, string? forwardedFor = null)
    {
        var (_, body) = TestAccounts.NewRegistration();
        body["verificationCode"] = await TestAccounts.VerificationCodeAsync(silo, (string)body["accountId"]!);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/accounts") { Content = JsonContent.Create(body) };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return await http.SendAsync(request, Cancel);
    }
}
