using System.Net;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>Failed logins throttled per device address and per client address, with verified devices still served.</summary>
public sealed class CredentialThrottleTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("known")]
    [InlineData("unknown")]
    public async Task WrongPassword_OverDeviceThreshold_TooManyRequestsUntilRefilled(string device)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(time, ("Auth:Throttle:FailuresPerDevice", "3"), ("Auth:Throttle:DeviceRefillSeconds", "60")), Cancel);
        var login = device == "known" ? (await TestAccounts.RegisterAsync(silo)).Login : $"{TestAccounts.NewAccountId()}.1";
        using var http = silo.CreateHttpClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var failed = await GetDevicesAsync(http, login, TestAccounts.NewPassword());
            statuses.Add(failed.StatusCode);
        }

        using var limited = await GetDevicesAsync(http, login, TestAccounts.NewPassword());
        time.Advance(TimeSpan.FromSeconds(60));
        using var refilled = await GetDevicesAsync(http, login, TestAccounts.NewPassword());

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        await RateLimits.AssertLimitedAsync(limited, "auth_failures_device", 60);
        Assert.Equal(HttpStatusCode.Unauthorized, refilled.StatusCode);
    }

    [Fact]
    public async Task WrongPassword_OverClientAddressThreshold_TooManyRequestsForAnyDevice()
    {
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(null, ("Auth:Throttle:FailuresPerClientAddress", "3"), ("Auth:Throttle:ClientAddressRefillSeconds", "6")), Cancel);
        var known = await TestAccounts.RegisterAsync(silo);
        using var http = silo.CreateHttpClient();

        for (var i = 0; i < 3; i++)
        {
            using var failed = await GetDevicesAsync(http, $"{TestAccounts.NewAccountId()}.1", TestAccounts.NewPassword());
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        using var unknownLimited = await GetDevicesAsync(http, $"{TestAccounts.NewAccountId()}.1", TestAccounts.NewPassword());
        using var knownLimited = await GetDevicesAsync(http, known.Login, TestAccounts.NewPassword());

        await RateLimits.AssertLimitedAsync(unknownLimited, "auth_failures_ip", 6);
        await RateLimits.AssertLimitedAsync(knownLimited, "auth_failures_ip", 6);
    }

    [Fact]
    public async Task VerifiedDevice_DuringWrongPasswordFlood_StillServed()
    {
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(null, ("Auth:Throttle:FailuresPerDevice", "3"), ("Auth:Throttle:FailuresPerClientAddress", "5"), ("Auth:PasswordHashIterations", "20000")), Cancel);
        var victim = await TestAccounts.RegisterAsync(silo);
        using var legitimate = victim.CreateClient(silo);
        using var first = await legitimate.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var attacker = silo.CreateHttpClient();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var flood = Enumerable.Range(0, 16).Select(_ => FloodAsync(attacker, victim.Login, stop.Token)).ToList();
        var served = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            using var response = await legitimate.GetAsync("/v1/devices", Cancel);
            served.Add(response.StatusCode);
        }

        await stop.CancelAsync();
        var refusals = (await Task.WhenAll(flood)).SelectMany(r => r).ToList();

        Assert.All(served, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Contains(HttpStatusCode.TooManyRequests, refusals);
        Assert.DoesNotContain(HttpStatusCode.OK, refusals);
    }

    [Fact]
    public async Task WrongPassword_OverBudget_RefusalHeldForTheDelayWhileVerifiedDeviceServed()
    {
        var delay = TimeSpan.FromMilliseconds(800);
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            new FakeTimeProvider(DateTimeOffset.UtcNow), ("Auth:Throttle:FailuresPerDevice", "1"),
            ("Auth:Throttle:RefusalDelayMilliseconds", delay.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture))), Cancel);
        var victim = await TestAccounts.RegisterAsync(silo);
        using var legitimate = victim.CreateClient(silo);
        using var verified = await legitimate.GetAsync("/v1/devices", Cancel);
        using var attacker = silo.CreateHttpClient();
        using var failed = await GetDevicesAsync(attacker, victim.Login, TestAccounts.NewPassword());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refused = GetDevicesAsync(attacker, victim.Login, TestAccounts.NewPassword());
        using var served = await legitimate.GetAsync("/v1/devices", Cancel);
        var servedAfter = clock.Elapsed;
        using var limited = await refused;
        var refusedAfter = clock.Elapsed;

        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        await RateLimits.AssertLimitedAsync(limited, "auth_failures_device", 60);
        // A lower bound, not a performance claim: the refusal is not answered before its delay, and the verified device
        // was answered while it was held.
        Assert.True(refusedAfter >= delay, $"the 429 came after {refusedAfter.TotalMilliseconds} ms, before the {delay.TotalMilliseconds} ms delay");
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.True(servedAfter < refusedAfter, "the verified device should be served while the refusal is held");
    }

    [Fact]
    public async Task WrongPasswords_HashingGateFull_BusyWhileVerifiedDeviceServed()
    {
        // One hash at a time, no queue, and hashes slow enough (~1 s) that concurrent checks overlap.
        await using var silo = await TestSilo.StartAsync(RateLimits.With(
            null, ("Auth:PasswordHashIterations", "3000000"), ("Auth:MaxConcurrentHashes", "1"), ("Auth:HashQueueLimit", "0")), Cancel);
        var victim = await TestAccounts.RegisterAsync(silo);
        using var legitimate = victim.CreateClient(silo);
        using var verified = await legitimate.GetAsync("/v1/devices", Cancel);
        using var attacker = silo.CreateHttpClient();

        var attempts = Enumerable.Range(0, 3).Select(_ => GetDevicesAsync(attacker, victim.Login, TestAccounts.NewPassword())).ToList();
        using var served = await legitimate.GetAsync("/v1/devices", Cancel);
        var answers = await Task.WhenAll(attempts);
        var busy = answers.Where(a => a.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();

        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.ServiceUnavailable }));
        Assert.NotEmpty(busy);
        await RateLimits.AssertLimitedAsync(busy[0], "password_hashing", 1, HttpStatusCode.ServiceUnavailable, "busy");
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    private static async Task<List<HttpStatusCode>> FloodAsync(HttpClient http, string login, CancellationToken cancellationToken)
    {
        var statuses = new List<HttpStatusCode>();

        // Until the legitimate device is done, and at least until the throttle answered once.
        while (!cancellationToken.IsCancellationRequested || !statuses.Contains(HttpStatusCode.TooManyRequests))
        {
            using var response = await GetDevicesAsync(http, login, TestAccounts.NewPassword(), Cancel);
            statuses.Add(response.StatusCode);
        }

        return statuses;
    }

    [Fact]
    public async Task WrongPassword_OnRoutesThatNeedNoDevice_NotCheckedAndSpendsNoBudget()
    {
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(null, ("Auth:Throttle:FailuresPerDevice", "2"), ("Auth:Throttle:FailuresPerClientAddress", "2")), Cancel);
        var device = await TestAccounts.RegisterAsync(silo);
        using var http = silo.CreateHttpClient();

        // Ten times the budget of wrong passwords on routes that take none: each is served as if it carried none.
        for (var i = 0; i < 10; i++)
        {
            using var health = await GetAsync(http, "/health/live", device.Login, TestAccounts.NewPassword());
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            using var missing = await GetAsync(http, "/no/such/route", device.Login, TestAccounts.NewPassword());
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        // The device's and the address's budgets are untouched: the right password is served, a wrong one is a plain 401.
        using var right = await GetDevicesAsync(http, device.Login, device.Password);
        using var wrong = await GetDevicesAsync(http, device.Login, TestAccounts.NewPassword());
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    private static Task<HttpResponseMessage> GetDevicesAsync(HttpClient http, string login, string password, CancellationToken? cancellationToken = null) =>
        GetAsync(http, "/v1/devices", login, password, cancellationToken);

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, string path, string login, string password, CancellationToken? cancellationToken = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestDevice.BasicAuth(login, password);
        return await http.SendAsync(request, cancellationToken ?? Cancel);
    }
}
