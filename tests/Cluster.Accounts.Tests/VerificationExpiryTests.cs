using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// A number's verification state (codes, counts, its expiry reminder) is deleted once it no longer counts: when a code
/// is verified, and when <c>Verification:Window</c> has passed with no live code. A flood of code requests for many
/// numbers leaves no row behind, on either engine.
/// </summary>
public sealed class VerificationExpiryTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Flood_Sqlite_NoRowLeftAfterTheWindow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        await AssertFloodExpiresAsync(silo, time, StoredRows.Sqlite(silo));
    }

    [Fact]
    public async Task Flood_Postgres_NoRowLeftAfterTheWindow()
    {
        Assert.SkipUnless(PostgresDatabase.IsConfigured, PostgresDatabase.SkipReason);
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, Cancel);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(
            new TestSiloSettings { Time = time, PostgresConnectionString = database.ConnectionString, ClusterId = $"vexp-{Guid.NewGuid():N}" }, Cancel);
        await AssertFloodExpiresAsync(silo, time, StoredRows.Postgres(database.ConnectionString));
    }

    [Fact]
    public async Task Register_WithTheCode_NoVerificationRowLeft()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: Cancel);
        var (device, body) = TestAccounts.NewRegistration();
        body["verificationCode"] = "000000";
        using var http = silo.CreateHttpClient();
        await TestAccounts.VerificationCodeAsync(silo, device.AccountId);
        using var wrong = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        var before = await VerificationRowsAsync(silo, device.AccountId);

        using var registered = await TestAccounts.PostRegistrationAsync(silo, http, body);

        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        Assert.Equal(1, before);
        Assert.Equal(0, await VerificationRowsAsync(silo, device.AccountId));
    }

    [Fact]
    public async Task Window_LiveCodeAtTheEnd_KeptUntilItExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time, Settings = new Dictionary<string, string> { ["Verification:Window"] = "00:05:00" } }, Cancel);
        var number = TestAccounts.NewAccountId();
        await TestAccounts.VerificationCodeAsync(silo, number);

        // Past the window (5 minutes), the code (10 minutes) still counts: the state stays, and the code still works.
        time.Advance(TimeSpan.FromMinutes(6));
        await ForAGrainTurnAsync(silo, number);
        Assert.Equal(1, await VerificationRowsAsync(silo, number));

        time.Advance(TimeSpan.FromMinutes(5));
        await Eventually.TrueAsync(async () => await VerificationRowsAsync(silo, number) == 0, TimeSpan.FromSeconds(30), () => $"{number}'s verification row deleted after its code expired");
    }

    private static async Task AssertFloodExpiresAsync(TestSilo silo, FakeTimeProvider time, StoredRows rows)
    {
        var numbers = Enumerable.Range(0, 25).Select(_ => TestAccounts.NewAccountId()).ToArray();
        using var http = silo.CreateHttpClient();
        foreach (var number in numbers)
        {
            using var requested = await http.PostAsJsonAsync("/v1/accounts/verification", new JsonObject { ["accountId"] = number }, Cancel);
            Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        }

        // Wrong guesses for some: they count within the window too.
        foreach (var number in numbers.Take(5))
        {
            var (_, body) = TestAccounts.NewRegistration(accountId: number);
            body["verificationCode"] = "000000";
            using var wrong = await http.PostAsJsonAsync("/v1/accounts", body, Cancel);
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        }

        var before = await rows.MentioningAsync(numbers, Cancel);
        Assert.Contains(before, r => r.StartsWith("orleans_grain_state.", StringComparison.Ordinal));
        Assert.Contains(before, r => r.StartsWith("orleans_reminder.", StringComparison.Ordinal));

        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));

        // The expiry timers fire on the clock's advance and clear the rows in the background: no event to await.
        await Eventually.TrueAsync(async () => (await rows.MentioningAsync(numbers, Cancel)).Count == 0, TimeSpan.FromSeconds(60),
            () => "every verification row and reminder of the flooded numbers deleted");
    }

    /// <summary>A call that runs on the number's verification grain after anything queued there (a code request, refused or not, changes nothing lasting here).</summary>
    private static async Task ForAGrainTurnAsync(TestSilo silo, string number) =>
        await silo.Grains.GetGrain<Cluster.Abstractions.Verification.IVerificationGrain>(number).ExpireAsync();

    private static async Task<long> VerificationRowsAsync(TestSilo silo, string number)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={silo.DataPath}");
        await connection.OpenAsync(Cancel);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM orleans_grain_state WHERE grain_type = 'verification' AND grain_id_extension = @number;";
        command.Parameters.AddWithValue("@number", number);
        return (long)(await command.ExecuteScalarAsync(Cancel))!;
    }
}
