using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// The registration lock against a real silo on both engines: a re-registration of a locked number needs the PIN
/// (423 <c>registration_locked</c> with the time left), PIN guessing is throttled per number (429 with
/// <c>Retry-After</c>), and the lock lapses once the primary has been away 7 days (fake clock).
/// </summary>
public sealed class RegistrationLockTests
{
    private const long DayMs = 86_400_000;
    private const string Pin = "2468";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<StorageKind> Engines() => NewPhones.Engines();

    private static long StartOfDay(FakeTimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds() / DayMs * DayMs;

    private static async Task<TestDevice> LockedAccountAsync(TestSilo silo)
    {
        var primary = await TestAccounts.RegisterAsync(silo);
        using var set = await NewPhones.SetLockAsync(silo, primary, Pin);
        Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        return primary;
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ReRegister_LockedWithoutPin_LockedWithTimeLeftAndOldPrimaryKept(StorageKind engine)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var running = await NewPhones.StartAsync(engine, time);
        var primary = await LockedAccountAsync(running.Silo);
        var lapsesAt = StartOfDay(time) + (8 * DayMs);

        var (phone, response) = await NewPhones.ReRegisterAsync(running.Silo, primary.AccountId);

        using (response)
        {
            var body = await NewPhones.AssertErrorAsync(response, (HttpStatusCode)423, "registration_locked");
            Assert.Equal(lapsesAt, (long)body["lapsesAt"]!);
            Assert.Equal(lapsesAt - time.GetUtcNow().ToUnixTimeMilliseconds(), (long)body["timeRemaining"]!);
        }

        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(running.Silo, primary));
        Assert.Equal(HttpStatusCode.Unauthorized, await NewPhones.StatusOfDevicesAsync(running.Silo, phone));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ReRegister_WrongPinThenRightPin_LockedThenReplacedAndLockCleared(StorageKind engine)
    {
        await using var running = await NewPhones.StartAsync(engine);
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);

        var (_, wrong) = await NewPhones.ReRegisterAsync(silo, primary.AccountId, "1357");
        using (wrong)
        {
            await NewPhones.AssertErrorAsync(wrong, (HttpStatusCode)423, "registration_locked");
        }

        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, primary));
        var (phone, right) = await NewPhones.ReRegisterAsync(silo, primary.AccountId, Pin);
        using (right)
        {
            Assert.Equal(HttpStatusCode.Created, right.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await NewPhones.StatusOfDevicesAsync(silo, primary));
        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, phone));

        // The old phone's lock went with it: the next new phone needs no PIN until the new primary sets one.
        var (_, next) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        using (next)
        {
            Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ReRegister_PinGuessing_ThrottledPerNumberEvenForTheRightPin(StorageKind engine)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var running = await NewPhones.StartAsync(
            engine, time, ("Accounts:RegistrationLockMaxAttempts", "2"), ("Accounts:RegistrationLockAttemptWindow", "01:00:00"));
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);
        foreach (var guess in new[] { "0000", "1111" })
        {
            var (_, refused) = await NewPhones.ReRegisterAsync(silo, primary.AccountId, guess);
            using (refused)
            {
                await NewPhones.AssertErrorAsync(refused, (HttpStatusCode)423, "registration_locked");
            }
        }

        var (_, throttled) = await NewPhones.ReRegisterAsync(silo, primary.AccountId, Pin);
        using (throttled)
        {
            await RateLimits.AssertLimitedAsync(throttled, "registration_lock_number", 3600);
        }

        // A missing PIN costs no attempt and no hash: it is still told the lock, not throttled.
        var (_, missing) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        using (missing)
        {
            await NewPhones.AssertErrorAsync(missing, (HttpStatusCode)423, "registration_locked");
        }

        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, primary));
        time.Advance(TimeSpan.FromHours(1));
        var (_, later) = await NewPhones.ReRegisterAsync(silo, primary.AccountId, Pin);
        using (later)
        {
            Assert.Equal(HttpStatusCode.Created, later.StatusCode);
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ReRegister_PrimaryAwayPastTheLapse_NoPinNeeded(StorageKind engine)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var running = await NewPhones.StartAsync(engine, time);
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);
        var lapsesAt = StartOfDay(time) + (8 * DayMs);

        time.Advance(TimeSpan.FromMilliseconds(lapsesAt - 1 - time.GetUtcNow().ToUnixTimeMilliseconds()));
        var (_, early) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        using (early)
        {
            var body = await NewPhones.AssertErrorAsync(early, (HttpStatusCode)423, "registration_locked");
            Assert.Equal(1, (long)body["timeRemaining"]!);
        }

        time.Advance(TimeSpan.FromMilliseconds(1));
        var (phone, lapsed) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        using (lapsed)
        {
            Assert.Equal(HttpStatusCode.Created, lapsed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, phone));
    }

    [Fact]
    public async Task ReRegister_PrimaryBackBeforeTheLapse_LockInForceAgain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite, time);
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);

        time.Advance(TimeSpan.FromDays(6));
        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, primary));
        time.Advance(TimeSpan.FromDays(3));
        var (_, response) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);

        using (response)
        {
            var body = await NewPhones.AssertErrorAsync(response, (HttpStatusCode)423, "registration_locked");
            Assert.Equal(StartOfDay(time) + (5 * DayMs), (long)body["lapsesAt"]!);
        }
    }

    [Fact]
    public async Task RemoveLock_ThenReRegister_NoPinNeeded()
    {
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite);
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);
        using var http = primary.CreateClient(silo);

        using var removed = await http.DeleteAsync("/v1/account/registration-lock", Cancel);
        using var again = await http.DeleteAsync("/v1/account/registration-lock", Cancel);
        var (_, response) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NoContent), (removed.StatusCode, again.StatusCode));
        using (response)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }

    [Fact]
    public async Task SetLock_Companion_ForbiddenAndNoLockSet()
    {
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite);
        var silo = running.Silo;
        var primary = await TestAccounts.RegisterAsync(silo);
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        using var http = companion.CreateClient(silo);

        using var set = await NewPhones.SetLockAsync(silo, companion, Pin);
        using var remove = await http.DeleteAsync("/v1/account/registration-lock", Cancel);

        await NewPhones.AssertErrorAsync(set, HttpStatusCode.Forbidden, "forbidden");
        await NewPhones.AssertErrorAsync(remove, HttpStatusCode.Forbidden, "forbidden");
        var (_, response) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        using (response)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }

    public static TheoryData<string?, string, string> BadPins() => new()
    {
        { null, "missing_field", "pin" },
        { "123", "invalid_field", "pin" },
        { new string('7', 65), "invalid_field", "pin" },
        { "12\n34", "invalid_field", "pin" },
    };

    [Theory]
    [MemberData(nameof(BadPins))]
    public async Task SetLock_MalformedPin_BadRequestNamingTheField(string? pin, string error, string field)
    {
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite);
        var silo = running.Silo;
        var primary = await TestAccounts.RegisterAsync(silo);
        using var http = primary.CreateClient(silo);

        using var response = await http.PutAsJsonAsync("/v1/account/registration-lock", new JsonObject { ["pin"] = pin }, Cancel);

        var body = await NewPhones.AssertErrorAsync(response, HttpStatusCode.BadRequest, error);
        Assert.Equal(field, (string?)body["field"]);
        var (_, reRegistration) = await NewPhones.ReRegisterAsync(silo, primary.AccountId);
        using (reRegistration)
        {
            Assert.Equal(HttpStatusCode.Created, reRegistration.StatusCode);
        }
    }

    [Fact]
    public async Task ReRegister_MalformedPin_BadRequestAndCodeNotUsed()
    {
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite);
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);
        var (_, body) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        var code = await TestAccounts.VerificationCodeAsync(silo, primary.AccountId);
        body["verificationCode"] = code;
        body["registrationLock"] = "12";
        using var http = silo.CreateHttpClient();

        using var malformed = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);
        body["registrationLock"] = Pin;
        using var right = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);

        var error = await NewPhones.AssertErrorAsync(malformed, HttpStatusCode.BadRequest, "invalid_field");
        Assert.Equal("registrationLock", (string?)error["field"]);
        Assert.Equal(HttpStatusCode.Created, right.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ReRegister_LockedThenWrongPinThenPin_OneCodeServesEveryAttemptAndIsUsedUpByTheSuccess(StorageKind engine)
    {
        await using var running = await NewPhones.StartAsync(engine);
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);
        var (phone, body) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        body["verificationCode"] = await TestAccounts.VerificationCodeAsync(silo, primary.AccountId);
        using var http = silo.CreateHttpClient();

        // The user is asked for the PIN only after the code: the code is not spent on learning that.
        using (var withoutPin = await http.PostAsJsonAsync("/v1/accounts", body, Cancel))
        {
            await NewPhones.AssertErrorAsync(withoutPin, (HttpStatusCode)423, "registration_locked");
        }

        body["registrationLock"] = "1357";
        using (var wrongPin = await http.PostAsJsonAsync("/v1/accounts", body, Cancel))
        {
            await NewPhones.AssertErrorAsync(wrongPin, (HttpStatusCode)423, "registration_locked");
        }

        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, primary));
        body["registrationLock"] = Pin;
        using (var right = await http.PostAsJsonAsync("/v1/accounts", body, Cancel))
        {
            Assert.Equal(HttpStatusCode.Created, right.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, phone));

        // Spent by the registration it made: the same code cannot make another.
        var (_, again) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        again["verificationCode"] = body["verificationCode"]!.DeepClone();
        using var reused = await http.PostAsJsonAsync("/v1/accounts", again, Cancel);
        await NewPhones.AssertErrorAsync(reused, HttpStatusCode.Forbidden, "invalid_code");
    }

    [Fact]
    public async Task ReRegister_LockedWithANewerCodeRequested_OnlyTheNewerCodeIsGood()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite, time);
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);
        var (_, body) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        var first = await TestAccounts.VerificationCodeAsync(silo, primary.AccountId);
        body["verificationCode"] = first;
        using var http = silo.CreateHttpClient();
        using (var locked = await http.PostAsJsonAsync("/v1/accounts", body, Cancel))
        {
            await NewPhones.AssertErrorAsync(locked, (HttpStatusCode)423, "registration_locked");
        }

        time.Advance(TimeSpan.FromMinutes(1));
        var second = await TestAccounts.VerificationCodeAsync(silo, primary.AccountId);
        body["registrationLock"] = Pin;
        if (second != first)
        {
            using var stale = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);
            await NewPhones.AssertErrorAsync(stale, HttpStatusCode.Forbidden, "invalid_code");
        }

        body["verificationCode"] = second;
        using var right = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);
        Assert.Equal(HttpStatusCode.Created, right.StatusCode);
    }

    [Fact]
    public async Task ReRegister_LockedUntilTheCodeExpires_CodeNoLongerGood()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var running = await NewPhones.StartAsync(StorageKind.Sqlite, time);
        var silo = running.Silo;
        var primary = await LockedAccountAsync(silo);
        var (_, body) = TestAccounts.NewRegistration(accountId: primary.AccountId);
        body["verificationCode"] = await TestAccounts.VerificationCodeAsync(silo, primary.AccountId);
        using var http = silo.CreateHttpClient();
        using (var locked = await http.PostAsJsonAsync("/v1/accounts", body, Cancel))
        {
            await NewPhones.AssertErrorAsync(locked, (HttpStatusCode)423, "registration_locked");
        }

        // Given back with its own expiry, not a new one.
        time.Advance(TimeSpan.FromMinutes(11));
        body["registrationLock"] = Pin;
        using var expired = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);
        await NewPhones.AssertErrorAsync(expired, HttpStatusCode.Forbidden, "invalid_code");
        Assert.Equal(HttpStatusCode.OK, await NewPhones.StatusOfDevicesAsync(silo, primary));
    }
}
