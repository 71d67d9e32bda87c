using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Accounts.Tests;

/// <summary>
/// Many requests at once for one number or account whose grain clears its state on the way (a used verification code,
/// a deleted account) or has none (an unknown account): each gets its documented answer, none a 5xx from an activation
/// that went away under the queue.
/// </summary>
[Collection(SharedSilo.Name)]
public sealed class AccountBurstTests(SiloFixture fixture)
{
    private const int Burst = 56;

    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Register_ManyConcurrentRegistrationsWithOneCode_OneCreatedRest403InvalidCode()
    {
        var (_, body) = TestAccounts.NewRegistration();
        body["verificationCode"] = await TestAccounts.VerificationCodeAsync(Silo, (string)body["accountId"]!);
        using var http = Silo.CreateHttpClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => Task.Run(() => SendAsync(http, HttpMethod.Post, "/v1/accounts", body.DeepClone()))));

        Assert.Single(answers, a => a.Status == HttpStatusCode.Created);
        AssertAll([.. answers.Where(a => a.Status != HttpStatusCode.Created)], (HttpStatusCode.Forbidden, "invalid_code"));
    }

    [Fact]
    public async Task RequestVerificationCode_ManyConcurrentRequestsForOneNumber_AcceptedOrRateLimited()
    {
        var accountId = TestAccounts.NewAccountId();
        using var http = Silo.CreateHttpClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => Task.Run(() =>
            SendAsync(http, HttpMethod.Post, "/v1/accounts/verification", new JsonObject { ["accountId"] = accountId }))));

        // The shared silo sets the per-number limits out of reach; a silo with them in reach answers the rest 429.
        Assert.Contains(answers, a => a.Status == HttpStatusCode.Accepted);
        AssertAll(answers, (HttpStatusCode.Accepted, null), (HttpStatusCode.TooManyRequests, "rate_limited"));
    }

    [Fact]
    public async Task DeleteAccount_ManyConcurrentDeletesByPrimary_OneDeletedRestUnauthorizedOr404()
    {
        var primary = await TestAccounts.RegisterAsync(Silo);
        using var http = primary.CreateClient(Silo);
        var path = $"/v1/account?confirm={Uri.EscapeDataString(primary.AccountId)}";

        var answers = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => Task.Run(() => SendAsync(http, HttpMethod.Delete, path))));

        Assert.Single(answers, a => a.Status == HttpStatusCode.NoContent);
        AssertAll([.. answers.Where(a => a.Status != HttpStatusCode.NoContent)], (HttpStatusCode.Unauthorized, "unauthorized"), (HttpStatusCode.NotFound, "not_found"));
    }

    [Fact]
    public async Task KeysAndDevices_ManyConcurrentRequestsForUnknownAccount_All404NotFound()
    {
        var asker = await TestAccounts.RegisterAsync(Silo);
        using var http = asker.CreateClient(Silo);
        var unknown = Uri.EscapeDataString(TestAccounts.NewAccountId());
        string[] paths = [$"/v1/keys/{unknown}/*", $"/v1/keys/{unknown}/1", $"/v1/accounts/{unknown}/devices"];

        var answers = await Task.WhenAll(Enumerable.Range(0, Burst / paths.Length + 1).SelectMany(_ => paths).Select(path => Task.Run(() => SendAsync(http, HttpMethod.Get, path))));

        AssertAll(answers, (HttpStatusCode.NotFound, "not_found"));
    }

    private static async Task<(HttpStatusCode Status, string? Error)> SendAsync(HttpClient http, HttpMethod method, string path, JsonNode? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await http.SendAsync(request, Cancel);
        var text = await response.Content.ReadAsStringAsync(Cancel);
        return (response.StatusCode, text.Length > 0 && JsonNode.Parse(text) is JsonObject json ? (string?)json["error"] : null);
    }

    private static void AssertAll((HttpStatusCode Status, string? Error)[] answers, params (HttpStatusCode Status, string? Error)[] allowed)
    {
        var wrong = answers.Where(a => !allowed.Contains(a)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {answers.Length} answers were not {string.Join(" or ", allowed.Select(a => $"{(int)a.Status} {a.Error}"))}: {string.Join("; ", wrong.Select(w => $"{(int)w.Status} {w.Error}"))}");
    }
}
