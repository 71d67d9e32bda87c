using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>Number verification against a real silo on both engines: codes required, single-use, expiring, throttled.</summary>
public sealed class VerificationTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<StorageKind> Engines() => [StorageKind.Sqlite, StorageKind.PostgreSql];

    private static async Task<(TestSilo Silo, PostgresDatabase? Database)> StartAsync(StorageKind engine, FakeTimeProvider time, params (string Key, string Value)[] settings)
    {
        var database = engine == StorageKind.PostgreSql ? await PostgresDatabase.CreateAsync() : null;
        if (database is not null)
        {
            await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        }

        var silo = await TestSilo.StartAsync(RateLimits.With(time, settings) with { PostgresConnectionString = database?.ConnectionString, ClusterId = $"verify-{Guid.NewGuid():N}" }, Cancel);
        return (silo, database);
    }

    private static async Task StopAsync(TestSilo silo, PostgresDatabase? database)
    {
        await silo.DisposeAsync();
        if (database is not null)
        {
            await database.DisposeAsync();
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(TestSilo silo, JsonObject body, string? code)
    {
        body["verificationCode"] = code;
        using var http = silo.CreateHttpClient();
        return await http.PostAsJsonAsync("/v1/accounts", body, Cancel);
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == status, $"expected {(int)status} {error}, got {(int)response.StatusCode}: {body}");
        Assert.Equal(error, (string?)JsonNode.Parse(body)!["error"]);
    }

    private static async Task AssertNotRegisteredAsync(TestSilo silo, TestDevice device)
    {
        using var authed = device.CreateClient(silo);
        using var devices = await authed.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, devices.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Register_WithoutCode_RefusedAndNothingStored(StorageKind engine)
    {
        var (silo, database) = await StartAsync(engine, new FakeTimeProvider(DateTimeOffset.UtcNow));
        try
        {
            var (device, body) = TestAccounts.NewRegistration();

            using var response = await PostAsync(silo, body, code: null);

            await AssertErrorAsync(response, HttpStatusCode.BadRequest, "missing_field");
            await AssertNotRegisteredAsync(silo, device);
        }
        finally
        {
            await StopAsync(silo, database);
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Register_WrongCode_ForbiddenAndRightCodeStillWorks(StorageKind engine)
    {
        var (silo, database) = await StartAsync(engine, new FakeTimeProvider(DateTimeOffset.UtcNow));
        try
        {
            var (device, body) = TestAccounts.NewRegistration();
            var code = await TestAccounts.VerificationCodeAsync(silo, device.AccountId);
            var wrong = ((int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

            using var refused = await PostAsync(silo, body, wrong);
            await AssertErrorAsync(refused, HttpStatusCode.Forbidden, "invalid_code");
            await AssertNotRegisteredAsync(silo, device);
            using var accepted = await PostAsync(silo, body, code);

            Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        }
        finally
        {
            await StopAsync(silo, database);
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Register_ExpiredCode_Forbidden(StorageKind engine)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (silo, database) = await StartAsync(engine, time);
        try
        {
            var (device, body) = TestAccounts.NewRegistration();
            var code = await TestAccounts.VerificationCodeAsync(silo, device.AccountId);

            time.Advance(TimeSpan.FromMinutes(10));
            using var response = await PostAsync(silo, body, code);

            await AssertErrorAsync(response, HttpStatusCode.Forbidden, "invalid_code");
            await AssertNotRegisteredAsync(silo, device);
        }
        finally
        {
            await StopAsync(silo, database);
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Register_ReusedCode_Forbidden(StorageKind engine)
    {
        var (silo, database) = await StartAsync(engine, new FakeTimeProvider(DateTimeOffset.UtcNow));
        try
        {
            var (device, body) = TestAccounts.NewRegistration();
            var code = await TestAccounts.VerificationCodeAsync(silo, device.AccountId);
            using var first = await PostAsync(silo, body, code);
            var (_, again) = TestAccounts.NewRegistration(accountId: device.AccountId);

            using var reused = await PostAsync(silo, again, code);

            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
            await AssertErrorAsync(reused, HttpStatusCode.Forbidden, "invalid_code");
        }
        finally
        {
            await StopAsync(silo, database);
        }
    }

    [Fact]
    public async Task Register_MalformedCode_BadRequestNamingField()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var (_, body) = TestAccounts.NewRegistration();

        using var response = await PostAsync(silo, body, "12ab56");

        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("verificationCode", (string?)answer!["field"]);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Register_GuessingCodes_ThrottledPerNumberEvenForRightCode(StorageKind engine)
    {
        var (silo, database) = await StartAsync(engine, new FakeTimeProvider(DateTimeOffset.UtcNow),
            ("Verification:MaxWrongGuessesPerNumber", "3"), ("Verification:MaxAttemptsPerCode", "100"), ("Verification:Window", "01:00:00"));
        try
        {
            var (device, body) = TestAccounts.NewRegistration();
            var code = await TestAccounts.VerificationCodeAsync(silo, device.AccountId);
            var guesses = Enumerable.Range(0, 1_000_000).Select(i => i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).Where(g => g != code).Take(3);
            foreach (var guess in guesses)
            {
                using var wrong = await PostAsync(silo, body, guess);
                await AssertErrorAsync(wrong, HttpStatusCode.Forbidden, "invalid_code");
            }

            using var throttled = await PostAsync(silo, body, code);

            await RateLimits.AssertLimitedAsync(throttled, "verification_guesses_number", 3600);
            await AssertNotRegisteredAsync(silo, device);
            using var http = silo.CreateHttpClient();
            var metrics = await http.GetStringAsync("/metrics", Cancel);
            Assert.Contains(metrics.Split('\n'), line => line.StartsWith("cluster_verification_checks_total{", StringComparison.Ordinal) && line.Contains("outcome=\"throttled\"", StringComparison.Ordinal));
        }
        finally
        {
            await StopAsync(silo, database);
        }
    }

    [Fact]
    public async Task Register_TooManyWrongGuessesForOneCode_CodeVoided()
    {
        await using var silo = await TestSilo.StartAsync(RateLimits.With(null, ("Verification:MaxAttemptsPerCode", "2")), Cancel);
        var (device, body) = TestAccounts.NewRegistration();
        var code = await TestAccounts.VerificationCodeAsync(silo, device.AccountId);
        foreach (var guess in Enumerable.Range(0, 3).Select(i => i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).Where(g => g != code).Take(2))
        {
            using var wrong = await PostAsync(silo, body, guess);
            await AssertErrorAsync(wrong, HttpStatusCode.Forbidden, "invalid_code");
        }

        using var voided = await PostAsync(silo, body, code);

        await AssertErrorAsync(voided, HttpStatusCode.Forbidden, "invalid_code");
        await AssertNotRegisteredAsync(silo, device);
    }

    [Fact]
    public async Task RequestCode_TooSoonAndTooOftenForNumber_TooManyRequests()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(time, ("Verification:MinInterval", "00:00:30"), ("Verification:MaxCodesPerNumber", "2"), ("Verification:Window", "01:00:00")), Cancel);
        using var http = silo.CreateHttpClient();
        var number = TestAccounts.NewAccountId();
        var request = new JsonObject { ["accountId"] = number };

        using var first = await http.PostAsJsonAsync("/v1/accounts/verification", request, Cancel);
        using var tooSoon = await http.PostAsJsonAsync("/v1/accounts/verification", request, Cancel);
        time.Advance(TimeSpan.FromSeconds(30));
        using var second = await http.PostAsJsonAsync("/v1/accounts/verification", request, Cancel);
        time.Advance(TimeSpan.FromSeconds(30));
        using var tooOften = await http.PostAsJsonAsync("/v1/accounts/verification", request, Cancel);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        await RateLimits.AssertLimitedAsync(tooSoon, "verification_codes_number", 30);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        await RateLimits.AssertLimitedAsync(tooOften, "verification_codes_number", 3600 - 60);
    }

    [Fact]
    public async Task RequestCode_OverClientAddressBurst_TooManyRequests()
    {
        await using var silo = await TestSilo.StartAsync(
            RateLimits.With(null, ("AnonymousLimits:VerificationBurst", "2"), ("AnonymousLimits:VerificationRefillSeconds", "60")), Cancel);
        using var http = silo.CreateHttpClient();

        for (var i = 0; i < 2; i++)
        {
            using var sent = await http.PostAsJsonAsync("/v1/accounts/verification", new JsonObject { ["accountId"] = TestAccounts.NewAccountId() }, Cancel);
            Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        }

        using var limited = await http.PostAsJsonAsync("/v1/accounts/verification", new JsonObject { ["accountId"] = TestAccounts.NewAccountId() }, Cancel);

        await RateLimits.AssertLimitedAsync(limited, "verification_ip", 60);
    }

    [Fact]
    public async Task RequestCode_BadNumber_BadRequestNamingField()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        using var http = silo.CreateHttpClient();

        using var response = await http.PostAsJsonAsync("/v1/accounts/verification", new JsonObject { ["accountId"] = "12345" }, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("accountId", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Cancel))!["field"]);
    }

    [Fact]
    public async Task Start_ClusterModeWithDevelopmentSender_FailsNamingKey()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => TestSilo.StartAsync(
            new TestSiloSettings
            {
                PostgresConnectionString = "Host=127.0.0.1;Port=1;Username=none;Database=none",
                Settings = new Dictionary<string, string> { ["VerificationSender:AllowDevelopmentInCluster"] = "false" },
            },
            Cancel));

        Assert.Contains("VerificationSender:Kind", failure.Message, StringComparison.Ordinal);
    }
}
