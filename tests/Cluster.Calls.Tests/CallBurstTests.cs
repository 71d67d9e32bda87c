using System.Net;
using Cluster.Abstractions.Calls;
using Cluster.Testing;

namespace Cluster.Calls.Tests;

/// <summary>
/// Many requests at once for one call id that is absent, ended or being answered: every one gets the call API's
/// documented 4xx (or its single 200), none a 5xx from an activation that went away under the queue.
/// </summary>
[Collection(SharedSilo.Name)]
public sealed class CallBurstTests(SiloFixture fixture)
{
    private static readonly string[] Routes = ["get", "answer", "reject", "hangup", "ice"];

    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryRoute_ManyConcurrentRequestsForAbsentCall_All404NotFound()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        using var http = device.CreateClient(Silo);
        var callId = CallIds.New();

        var answers = await BurstAsync(Enumerable.Range(0, 12).SelectMany(_ => Routes).Select(route => (http, route)), callId);

        AssertAll(answers, HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task EveryRoute_ManyConcurrentRequestsFromParticipantsOfEndedCall_All409CallEnded()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        using var a1Http = a1.CreateClient(Silo);
        using var b1Http = b1.CreateClient(Silo);
        using var b2Http = b2.CreateClient(Silo);
        var callId = await Calls.StartOkAsync(a1Http, Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2])), Cancel);
        Assert.Equal((HttpStatusCode.NoContent, null), await Calls.TryActAsync(a1Http, callId, "hangup", null, Cancel));

        HttpClient[] participants = [a1Http, b1Http, b2Http];
        var answers = await BurstAsync(Enumerable.Range(0, 4).SelectMany(_ => participants.SelectMany(p => Routes.Select(route => (p, route)))), callId);

        AssertAll(answers, HttpStatusCode.Conflict, "call_ended");
    }

    [Fact]
    public async Task Answer_ManyConcurrentAnswersFromEveryCalleeDevice_OneDoneRest409NotRinging()
    {
        var (a1, b1, b2) = await Calls.CallerAndCalleeAsync(Silo);
        using var a1Http = a1.CreateClient(Silo);
        using var b1Http = b1.CreateClient(Silo);
        using var b2Http = b2.CreateClient(Silo);
        var callId = await Calls.StartOkAsync(a1Http, Calls.StartBody(b1.AccountId, [b1, b2], Calls.PayloadsFor([b1, b2])), Cancel);

        var answers = await BurstAsync(Enumerable.Range(0, 30).SelectMany(_ => new[] { (b1Http, "answer"), (b2Http, "answer") }), callId);

        Assert.Single(answers, a => a.Status == HttpStatusCode.OK);
        AssertAll([.. answers.Where(a => a.Status != HttpStatusCode.OK)], HttpStatusCode.Conflict, "call_not_ringing");
    }

    private static async Task<(HttpStatusCode Status, string? Error)[]> BurstAsync(IEnumerable<(HttpClient Http, string Route)> requests, string callId) =>
        await Task.WhenAll(requests.Select(r => Task.Run(() => SendAsync(r.Http, r.Route, callId))));

    private static async Task<(HttpStatusCode Status, string? Error)> SendAsync(HttpClient http, string route, string callId)
    {
        if (route != "get")
        {
            return await Calls.TryActAsync(http, callId, route, route is "answer" or "ice" ? Calls.NewPayload() : null, Cancel);
        }

        using var response = await http.GetAsync($"/v1/calls/{callId}", Cancel);
        return (response.StatusCode, await Calls.ErrorOfAsync(response, Cancel));
    }

    private static void AssertAll((HttpStatusCode Status, string? Error)[] answers, HttpStatusCode status, string error)
    {
        Assert.True(answers.Length >= 50, $"only {answers.Length} requests were sent");
        var wrong = answers.Where(a => a != (status, error)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {answers.Length} answers were not {(int)status} {error}: {string.Join("; ", wrong.Select(w => $"{(int)w.Status} {w.Error}"))}");
    }
}
