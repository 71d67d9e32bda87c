using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Security.Tests;

/// <summary>Who calls, in the authorization matrix.</summary>
internal enum Caller
{
    /// <summary>No credentials.</summary>
    Anonymous,

    /// <summary>The primary of another account.</summary>
    Stranger,

    /// <summary>A linked companion of the account.</summary>
    Companion,

    /// <summary>The account's primary.</summary>
    Primary,

    /// <summary>A companion of the account that its primary removed, with the password it had.</summary>
    Removed,

    /// <summary>The primary's login with a password that is not its own.</summary>
    WrongPassword,
}

/// <summary>
/// Fresh accounts as the matrix sees them: account A with its primary, a linked companion and a removed companion,
/// and a stranger (the primary of account B). All made through the HTTP API, as clients make them.
/// </summary>
internal sealed record World(TestSilo Silo, TestDevice Primary, TestDevice Companion, TestDevice Removed, TestDevice Stranger)
{
    public const string WrongPassword = "not-the-password-of-this-device";

    public string AccountId => Primary.AccountId;

    public static async Task<World> CreateAsync(TestSilo silo)
    {
        var primary = await TestAccounts.RegisterAsync(silo, oneTimeKeys: 3, kemOneTimeKeys: 1);
        var companion = await Linking.LinkAsync(silo, primary, keyIndex: 1);
        var removed = await Linking.LinkAsync(silo, primary, keyIndex: 2);
        using (var http = primary.CreateClient(silo))
        using (var response = await http.DeleteAsync($"/v1/devices/{removed.DeviceId}"))
        {
            Ensure(response, HttpStatusCode.NoContent, "removing a companion");
        }

        var stranger = await TestAccounts.RegisterAsync(silo, oneTimeKeys: 3);
        return new World(silo, primary, companion, removed, stranger);
    }

    /// <summary>The device <paramref name="caller"/> authenticates as; null for <see cref="Caller.Anonymous"/>.</summary>
    public TestDevice? DeviceOf(Caller caller) => caller switch
    {
        Caller.Stranger => Stranger,
        Caller.Companion => Companion,
        Caller.Primary or Caller.WrongPassword => Primary,
        Caller.Removed => Removed,
        _ => null,
    };

    /// <summary>The Basic credentials <paramref name="caller"/> sends; null for <see cref="Caller.Anonymous"/>.</summary>
    public AuthenticationHeaderValue? CredentialsOf(Caller caller) => caller switch
    {
        Caller.Anonymous => null,
        Caller.WrongPassword => TestDevice.BasicAuth(Primary.Login, WrongPassword),
        _ => TestDevice.BasicAuth(DeviceOf(caller)!.Login, DeviceOf(caller)!.Password),
    };

    /// <summary>The devices of account A other than <paramref name="sender"/>: the copies a send or a call from it must name.</summary>
    public IReadOnlyList<TestDevice> CopiesFor(TestDevice? sender) =>
        sender?.AccountId == AccountId
            ? [.. new[] { Primary, Companion }.Where(d => d.DeviceId != sender.DeviceId)]
            : [Primary, Companion];

    public HttpClient ClientOf(TestDevice device) => device.CreateClient(Silo);

    /// <summary>Sends a message from <paramref name="sender"/> to every device of account A (but itself) and answers the id of the copy <paramref name="to"/> got.</summary>
    public async Task<string> QueueAsync(TestDevice sender, TestDevice to, string text)
    {
        using (var http = ClientOf(sender))
        {
            await Messages.SendOkAsync(http, AccountId, Messages.Body(CopiesFor(sender), text));
        }

        var queued = await QueuedAsync(to);
        return queued.FirstOrDefault(e => Messages.ContentOf(e) == Messages.Content(text, to))?["id"]?.GetValue<string>()
            ?? throw new InvalidOperationException($"the message for {to.Login} is not in its queue");
    }

    /// <summary>What <paramref name="device"/>'s queue holds (the first page).</summary>
    public async Task<IReadOnlyList<JsonObject>> QueuedAsync(TestDevice device)
    {
        using var http = ClientOf(device);
        var page = await http.GetFromJsonAsync<JsonObject>("/v1/messages");
        return [.. page!["envelopes"]!.AsArray().Select(e => e!.AsObject())];
    }

    /// <summary>Places a call from <paramref name="caller"/> to <paramref name="callees"/> (every device of their account but the caller) and answers its id.</summary>
    public async Task<string> CallAsync(TestDevice caller, string calleeAccount, IEnumerable<TestDevice> callees)
    {
        using var http = ClientOf(caller);
        using var response = await http.PostAsJsonAsync("/v1/calls", CallBody(calleeAccount, callees));
        Ensure(response, HttpStatusCode.Created, "placing a call");
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["callId"]!;
    }

    public static JsonObject CallBody(string calleeAccount, IEnumerable<TestDevice> callees) => new()
    {
        ["to"] = calleeAccount,
        ["offers"] = new JsonArray([.. callees.Select(d => (JsonNode)new JsonObject
        {
            ["deviceId"] = d.DeviceId,
            ["registrationId"] = d.RegistrationId,
            ["payload"] = Payload("offer"),
        })]),
    };

    /// <summary>Has <paramref name="device"/> act on a call (<c>answer</c>, <c>reject</c>, <c>hangup</c>, <c>ice</c>), insisting on success.</summary>
    public async Task ActOnCallAsync(TestDevice device, string callId, string action)
    {
        using var http = ClientOf(device);
        using var response = await http.PostAsync($"/v1/calls/{callId}/{action}", action is "answer" or "ice" ? JsonContent.Create(new JsonObject { ["payload"] = Payload(action) }) : null);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{action} by {device.Login} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async Task<string> UploadBlobAsync(TestDevice device)
    {
        using var http = ClientOf(device);
        using var response = await http.PostAsync("/v1/blobs", new ByteArrayContent(Encoding.UTF8.GetBytes("an encrypted history bundle")));
        Ensure(response, HttpStatusCode.Created, "uploading a blob");
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["blobId"]!;
    }

    /// <summary>The ids of account A's devices as senders see them.</summary>
    public async Task<IReadOnlyList<int>> DeviceIdsAsync()
    {
        using var http = ClientOf(Primary);
        var answer = await http.GetFromJsonAsync<JsonObject>($"/v1/accounts/{Uri.EscapeDataString(AccountId)}/devices");
        return [.. answer!["devices"]!.AsArray().Select(d => (int)d!["deviceId"]!)];
    }

    public static string Payload(string what) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"sealed {what}"));

    private static void Ensure(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{what}: expected {(int)expected}, got {(int)response.StatusCode}");
        }
    }
}
