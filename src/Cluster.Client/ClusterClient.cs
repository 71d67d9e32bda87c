using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Cluster.Client.Accounts;
using Cluster.Client.AppState;
using Cluster.Client.Blobs;
using Cluster.Client.Calls;
using Cluster.Client.Keys;
using Cluster.Client.Messaging;

namespace Cluster.Client;

/// <summary>
/// The cluster's HTTP API, typed: one instance per device (or anonymous, for registration and linking).
/// Every refusal throws a <see cref="ClusterApiException"/> (or <see cref="MismatchedDevicesException"/> /
/// <see cref="StaleDevicesException"/> for a device set that needs fixing). Only sends are retried, with their
/// idempotency key, through a failover (<see cref="SendRetries"/>); nothing else is retried silently.
/// Thread-safe; share one per device.
/// </summary>
public sealed class ClusterClient : IDisposable
{
    private readonly HttpClient http;
    private readonly bool ownsHttp;

    /// <summary>A client for the silo (or load balancer) at <paramref name="gateway"/>.</summary>
    /// <param name="gateway">The base address, e.g. <c>http://127.0.0.1:8080</c>.</param>
    /// <param name="credentials">The device to act as; null for the anonymous calls (register, link).</param>
    /// <param name="handler">The HTTP handler to use, e.g. one <see cref="SocketsHttpHandler"/> shared by many devices; the client does not dispose it.</param>
    public ClusterClient(Uri gateway, DeviceCredentials? credentials = null, HttpMessageHandler? handler = null)
        : this(new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: handler is null) { BaseAddress = gateway }, credentials)
    {
        ownsHttp = true;
    }

    /// <summary>A client over an existing <see cref="HttpClient"/> whose <see cref="HttpClient.BaseAddress"/> is set; the caller keeps ownership of it.</summary>
    public ClusterClient(HttpClient http, DeviceCredentials? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.BaseAddress is null)
        {
            throw new ArgumentException("the HttpClient needs a BaseAddress", nameof(http));
        }

        this.http = http;
        Credentials = credentials;
        Authorization = credentials?.ToAuthorizationHeader();
    }

    /// <summary>The device this client acts as, or null when anonymous.</summary>
    public DeviceCredentials? Credentials { get; }

    /// <summary>The gateway's base address.</summary>
    public Uri Gateway => http.BaseAddress!;

    private AuthenticationHeaderValue? Authorization { get; }

    /// <summary>How <see cref="SendMessageAsync"/> retries through a failover. Default <see cref="SendRetryPolicy.Default"/> (up to 30 s).</summary>
    public SendRetryPolicy SendRetries { get; init; } = SendRetryPolicy.Default;

    /// <summary>
    /// This device's socket, when it has one open: <see cref="SendMessageAsync"/>, <see cref="SendGroupMessageAsync"/> and
    /// the call actions (<see cref="StartCallAsync"/>, answer, reject, hang up, ICE) go over it while it is connected
    /// (unless <see cref="SendOver"/> is <see cref="SendTransport.Http"/>), so that a send costs no HTTP request. It must
    /// be the socket of <see cref="Credentials"/>' device. Default none: every send is HTTP.
    /// </summary>
    public DeviceConnection? Connection { get; init; }

    /// <summary>How <see cref="SendMessageAsync"/>, <see cref="SendGroupMessageAsync"/> and the call actions reach the server. Default <see cref="SendTransport.Socket"/>: over <see cref="Connection"/> while it is connected, else HTTP.</summary>
    public SendTransport SendOver { get; init; } = SendTransport.Socket;

    /// <summary>A client for another device on the same connection pool (and the same retry policy and transport; no socket).</summary>
    public ClusterClient As(DeviceCredentials credentials) => new(http, credentials) { SendRetries = SendRetries, SendOver = SendOver };

    /// <summary>
    /// <c>POST /v1/accounts/verification</c>: has the server send a one-time code to <paramref name="accountId"/>
    /// (valid 10 minutes); registration then carries it as <see cref="RegistrationRequest.VerificationCode"/>.
    /// </summary>
    public Task<VerificationCodeSent> RequestVerificationCodeAsync(string accountId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "/v1/accounts/verification", new VerificationCodeRequest(accountId), ClientJson.Default.VerificationCodeRequest, ClientJson.Default.VerificationCodeSent, cancellationToken, anonymous: true);

    /// <summary>
    /// <c>POST /v1/accounts</c>: registers an account and its primary device (with a verification code). For a number
    /// that is registered already this is a re-registration: this device becomes the primary, every other device is
    /// unlinked; a locked number throws <see cref="RegistrationLockedException"/> without the right PIN.
    /// </summary>
    public Task<RegisteredDevice> RegisterAsync(RegistrationRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "/v1/accounts", request, ClientJson.Default.RegistrationRequest, ClientJson.Default.RegisteredDevice, cancellationToken, anonymous: true);

    /// <summary>
    /// <c>DELETE /v1/account?confirm=</c>: deletes the caller's account for good (primary only): every device is logged
    /// out (sockets closed with 4401), and everything the server holds for the account goes (queued messages, keys, blobs,
    /// app state, group memberships, push subscriptions). The number can then be registered again with a new code.
    /// </summary>
    /// <exception cref="ClusterApiException">403 <c>forbidden</c> from a companion device.</exception>
    public Task DeleteAccountAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"/v1/account?confirm={Uri.EscapeDataString(Credentials?.AccountId ?? throw new InvalidOperationException("deleting an account needs the primary's credentials"))}", cancellationToken);

    /// <summary><c>GET /v1/devices</c>: the caller's own devices.</summary>
    public async Task<IReadOnlyList<DeviceInfo>> GetOwnDevicesAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Get, "/v1/devices", ClientJson.Default.DeviceInfoList, cancellationToken)).Devices;

    /// <summary>
    /// <c>PUT /v1/account/registration-lock</c> (primary only): sets or replaces the PIN a re-registration of this number
    /// must present (<see cref="RegistrationRequest.RegistrationLock"/>) until the lock lapses after 7 days without the primary.
    /// </summary>
    public Task SetRegistrationLockAsync(string pin, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, "/v1/account/registration-lock", new RegistrationLockBody(pin), ClientJson.Default.RegistrationLockBody, cancellationToken);

    /// <summary><c>DELETE /v1/account/registration-lock</c> (primary only): removes the registration lock; idempotent.</summary>
    public Task RemoveRegistrationLockAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, "/v1/account/registration-lock", cancellationToken);

    /// <summary>
    /// <c>DELETE /v1/devices/{ownDeviceId}</c> (a companion): unlinks this device itself; its credentials stop working at
    /// once. The primary cannot (400 <c>cannot_remove_primary</c>).
    /// </summary>
    public Task UnlinkSelfAsync(CancellationToken cancellationToken = default) =>
        RemoveDeviceAsync((Credentials ?? throw new InvalidOperationException("UnlinkSelfAsync needs the device's credentials")).DeviceId, cancellationToken);

    /// <summary><c>POST /v1/devices/link-token</c> (primary only): a single-use token for linking one companion.</summary>
    public Task<LinkToken> CreateLinkTokenAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "/v1/devices/link-token", ClientJson.Default.LinkToken, cancellationToken);

    /// <summary><c>PUT /v1/devices/link</c>: links a companion; returns its address.</summary>
    public async Task<RegisteredDevice> LinkDeviceAsync(LinkRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var answer = await SendAsync(HttpMethod.Put, "/v1/devices/link", request, ClientJson.Default.LinkRequest, ClientJson.Default.LinkAnswer, cancellationToken, anonymous: true);
        return new RegisteredDevice(request.AccountId, answer.DeviceId);
    }

    /// <summary><c>DELETE /v1/devices/{deviceId}</c> (the primary, or the device itself): unlinks a device.</summary>
    public Task RemoveDeviceAsync(int deviceId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"/v1/devices/{deviceId.ToString(CultureInfo.InvariantCulture)}", cancellationToken);

    /// <summary><c>PUT /v1/devices/list</c> (primary only): publishes a signed device list.</summary>
    public Task PublishDeviceListAsync(SignedDeviceList list, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, "/v1/devices/list", list, ClientJson.Default.SignedDeviceList, cancellationToken);

    /// <summary><c>GET /v1/accounts/{accountId}/devices</c>: an account's devices with their ADV signatures.</summary>
    public Task<AccountDevices> GetAccountDevicesAsync(string accountId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, $"/v1/accounts/{Uri.EscapeDataString(accountId)}/devices", ClientJson.Default.AccountDevices, cancellationToken);

    /// <summary><c>PUT /v1/keys</c>: uploads prekeys for the calling device.</summary>
    public Task UploadKeysAsync(PreKeyUpload upload, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, "/v1/keys", upload, ClientJson.Default.PreKeyUpload, cancellationToken);

    /// <summary><c>GET /v1/keys</c>: the calling device's one-time key counts.</summary>
    public Task<KeyCounts> GetKeyCountsAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "/v1/keys", ClientJson.Default.KeyCounts, cancellationToken);

    /// <summary><c>GET /v1/keys/{accountId}/{deviceId}</c>: prekey bundles of one device, or of all (<paramref name="deviceId"/> null).</summary>
    public Task<PreKeyBundle> GetPreKeysAsync(string accountId, int? deviceId = null, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Get,
            $"/v1/keys/{Uri.EscapeDataString(accountId)}/{(deviceId is { } id ? id.ToString(CultureInfo.InvariantCulture) : "*")}",
            ClientJson.Default.PreKeyBundle,
            cancellationToken);

    /// <summary>
    /// <c>PUT /v1/messages/{accountId}</c>: returns once every copy is durably stored. A 409/410 throws
    /// <see cref="MismatchedDevicesException"/>/<see cref="StaleDevicesException"/>: fix the device set and send again
    /// (with the same <see cref="OutgoingMessage.ClientMessageId"/>: a refused send stored nothing). A 5xx or no answer
    /// is retried with the same id as <see cref="SendRetries"/> says (a message without an id gets a random one first),
    /// so a failover shows as a delay; only a send that cannot succeed within its budget throws. Goes over
    /// <see cref="Connection"/> while it is connected (see <see cref="SendOver"/>), each attempt choosing again: an
    /// attempt cut off by a closed socket is retried, over the next socket or HTTP, with the same id.
    /// </summary>
    public Task<SendResult> SendMessageAsync(string accountId, OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var idempotent = message.ClientMessageId is null ? message with { ClientMessageId = Guid.NewGuid().ToString("N") } : message;
        var path = $"/v1/messages/{Uri.EscapeDataString(accountId)}";
        return SendRetries.RunAsync(
            attempt => OverSocket() is { } socket
                ? socket.SendMessageAsync(accountId, idempotent, attempt)
                : SendAsync(HttpMethod.Put, path, idempotent, ClientJson.Default.OutgoingMessage, ClientJson.Default.SendResult, attempt),
            cancellationToken);
    }

    /// <summary><c>POST /v1/groups</c>: a group of this account (its only admin) and <paramref name="members"/> (existing accounts).</summary>
    public Task<Groups.GroupInfo> CreateGroupAsync(IReadOnlyList<string> members, byte[]? info = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "/v1/groups", new Groups.CreateGroupBody(members, info), ClientJson.Default.CreateGroupBody, ClientJson.Default.GroupInfo, cancellationToken);

    /// <summary><c>GET /v1/groups</c>: the ids of the groups this account is in.</summary>
    public async Task<IReadOnlyList<string>> ListGroupsAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Get, "/v1/groups", ClientJson.Default.GroupList, cancellationToken)).Groups;

    /// <summary><c>GET /v1/groups/{groupId}</c> (members only).</summary>
    public Task<Groups.GroupInfo> GetGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, GroupPath(groupId), ClientJson.Default.GroupInfo, cancellationToken);

    /// <summary><c>POST /v1/groups/{groupId}/members</c> (admins): adds existing accounts; members already in are ignored.</summary>
    public Task<Groups.GroupInfo> AddGroupMembersAsync(string groupId, IReadOnlyList<string> members, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, $"{GroupPath(groupId)}/members", new Groups.GroupMembersBody(members), ClientJson.Default.GroupMembersBody, ClientJson.Default.GroupInfo, cancellationToken);

    /// <summary><c>DELETE /v1/groups/{groupId}/members/{accountId}</c> (admins, or the member itself): the group after, or null when it ended.</summary>
    public async Task<Groups.GroupInfo?> RemoveGroupMemberAsync(string groupId, string accountId, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, $"{GroupPath(groupId)}/members/{Uri.EscapeDataString(accountId)}", anonymous: false);
        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return response.StatusCode == HttpStatusCode.NoContent ? null : await response.Content.ReadFromJsonAsync(ClientJson.Default.GroupInfo, cancellationToken);
    }

    /// <summary>
    /// <c>PUT /v1/groups/{groupId}/messages</c>: one sender-key ciphertext for every device of every member but this one;
    /// returns once every copy is durable. A 409/410 throws <see cref="Groups.GroupViewMismatchException"/>. Retried like
    /// <see cref="SendMessageAsync"/> (a message without an id gets a random one first), and over <see cref="Connection"/>
    /// as it goes (see <see cref="SendOver"/>).
    /// </summary>
    public Task SendGroupMessageAsync(string groupId, Groups.GroupMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var idempotent = message.ClientMessageId is null ? message with { ClientMessageId = Guid.NewGuid().ToString("N") } : message;
        var path = $"{GroupPath(groupId)}/messages";
        return SendRetries.RunAsync(
            async attempt =>
            {
                if (OverSocket() is { } socket)
                {
                    await socket.SendGroupMessageAsync(groupId, idempotent, attempt);
                    return groupId;
                }

                return (await SendAsync(HttpMethod.Put, path, idempotent, ClientJson.Default.GroupMessage, ClientJson.Default.GroupSendAnswer, attempt)).GroupId;
            },
            cancellationToken);
    }

    /// <summary><c>GET /v1/messages</c>: up to 100 queued envelopes, for a device without a socket.</summary>
    public Task<MessagePage> GetMessagesAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "/v1/messages", ClientJson.Default.MessagePage, cancellationToken);

    /// <summary><c>DELETE /v1/messages/{id}</c>: acks (deletes) one envelope; idempotent.</summary>
    public Task AckMessageAsync(Guid envelopeId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"/v1/messages/{envelopeId:D}", cancellationToken);

    /// <summary><c>POST /v1/calls</c>: rings every device of <paramref name="to"/>, one sealed offer each; returns the call id.</summary>
    /// <remarks>
    /// This and the other call actions go over <see cref="Connection"/> while it is connected (see <see cref="SendOver"/>),
    /// with the same answers and exceptions as over HTTP; they are not retried (a socket that closes before the answer
    /// throws <see cref="DeviceSocketUnavailableException"/>).
    /// </remarks>
    public async Task<string> StartCallAsync(string to, IReadOnlyList<CallOffer> offers, CancellationToken cancellationToken = default) =>
        OverSocket() is { } socket ? await socket.StartCallAsync(to, offers, cancellationToken) : (await SendAsync(HttpMethod.Post, "/v1/calls", new StartCallBody(to, offers), ClientJson.Default.StartCallBody, ClientJson.Default.CallIdAnswer, cancellationToken)).CallId;

    /// <summary><c>POST /v1/calls/{callId}/answer</c>: answers a ringing call; a later answer (another device won) throws 409 <c>call_not_ringing</c>.</summary>
    public Task AnswerCallAsync(string callId, byte[] payload, CancellationToken cancellationToken = default) =>
        OverSocket() is { } socket ? socket.CallActionAsync("answerCall", callId, payload, cancellationToken) : SendAsync(HttpMethod.Post, $"/v1/calls/{Uri.EscapeDataString(callId)}/answer", new PayloadBody(payload), ClientJson.Default.PayloadBody, cancellationToken);

    /// <summary>
    /// <c>GET /v1/calls/{callId}</c>: this device's own offer while the call rings (after a <c>call</c> push); throws 409
    /// <c>call_not_ringing</c>/<c>call_ended</c> once it does not, 403 for a device the call did not ring.
    /// </summary>
    public Task<Calls.RingingCallOffer> GetCallOfferAsync(string callId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, $"/v1/calls/{Uri.EscapeDataString(callId)}", ClientJson.Default.RingingCallOffer, cancellationToken);

    /// <summary><c>POST /v1/calls/{callId}/reject</c>: rejects a ringing call; the call ends.</summary>
    public Task RejectCallAsync(string callId, CancellationToken cancellationToken = default) =>
        OverSocket() is { } socket ? socket.CallActionAsync("rejectCall", callId, null, cancellationToken) : SendAsync(HttpMethod.Post, $"/v1/calls/{Uri.EscapeDataString(callId)}/reject", cancellationToken);

    /// <summary><c>POST /v1/calls/{callId}/hangup</c>: ends the call.</summary>
    public Task HangUpAsync(string callId, CancellationToken cancellationToken = default) =>
        OverSocket() is { } socket ? socket.CallActionAsync("hangupCall", callId, null, cancellationToken) : SendAsync(HttpMethod.Post, $"/v1/calls/{Uri.EscapeDataString(callId)}/hangup", cancellationToken);

    /// <summary><c>POST /v1/calls/{callId}/ice</c>: relays a sealed ICE candidate to the other party's device.</summary>
    public Task SendIceAsync(string callId, byte[] payload, CancellationToken cancellationToken = default) =>
        OverSocket() is { } socket ? socket.CallActionAsync("relayIce", callId, payload, cancellationToken) : SendAsync(HttpMethod.Post, $"/v1/calls/{Uri.EscapeDataString(callId)}/ice", new PayloadBody(payload), ClientJson.Default.PayloadBody, cancellationToken);

    /// <summary><c>PUT /v1/push/subscription</c>: registers or replaces this device's push target (docs/push.md).</summary>
    public Task SetPushSubscriptionAsync(Push.WebPushSubscription subscription, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, "/v1/push/subscription", subscription, ClientJson.Default.WebPushSubscription, cancellationToken);

    /// <summary><c>PUT /v1/push/subscription</c>: registers or replaces this device's FCM target (docs/push.md).</summary>
    public Task SetPushSubscriptionAsync(Push.FcmSubscription subscription, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, "/v1/push/subscription", subscription, ClientJson.Default.FcmSubscription, cancellationToken);

    /// <summary><c>PUT /v1/push/subscription</c>: registers or replaces this device's APNs target (docs/push.md).</summary>
    public Task SetPushSubscriptionAsync(Push.ApnsSubscription subscription, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, "/v1/push/subscription", subscription, ClientJson.Default.ApnsSubscription, cancellationToken);

    /// <summary><c>DELETE /v1/push/subscription</c>: removes this device's push target; idempotent.</summary>
    public Task RemovePushSubscriptionAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, "/v1/push/subscription", cancellationToken);

    /// <summary><c>GET /v1/push/subscriptions/{deviceId}</c> (primary only): the kind of a device's push target; throws 404 when it has none.</summary>
    public Task<Push.PushSubscriptionStatus> GetPushSubscriptionAsync(int deviceId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, $"/v1/push/subscriptions/{deviceId}", ClientJson.Default.PushSubscriptionStatus, cancellationToken);

    /// <summary><c>POST /v1/blobs</c>: uploads an (already encrypted) blob, e.g. a history bundle.</summary>
    public async Task<UploadedBlob> UploadBlobAsync(Stream content, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Post, "/v1/blobs", anonymous: false);
        request.Content = new StreamContent(content);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await ReadAsync(request, ClientJson.Default.UploadedBlob, cancellationToken);
    }

    /// <summary><c>GET /v1/blobs/{blobId}</c>: downloads a blob.</summary>
    public async Task<byte[]> DownloadBlobAsync(string blobId, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Get, $"/v1/blobs/{Uri.EscapeDataString(blobId)}", anonymous: false);
        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    /// <summary><c>PUT /v1/provisioning/{address}</c> (primary only): hands the client-encrypted provisioning body to the device waiting at <paramref name="address"/>.</summary>
    public Task ProvisionAsync(string address, string body, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, $"/v1/provisioning/{Uri.EscapeDataString(address)}", new ProvisioningBody(body), ClientJson.Default.ProvisioningBody, cancellationToken);

    /// <summary><c>GET /v1/appstate</c>: the account's collections with something stored, and their versions.</summary>
    public async Task<IReadOnlyList<AppStateHead>> GetAppStateCollectionsAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Get, "/v1/appstate", ClientJson.Default.AppStateHeadList, cancellationToken)).Collections;

    /// <summary>
    /// <c>GET /v1/appstate/{collection}?since=</c>: what a device at <paramref name="since"/> applies to catch up (one page;
    /// fetch again while <see cref="AppStatePage.More"/>).
    /// </summary>
    public Task<AppStatePage> FetchAppStateAsync(string collection, long since = 0, int? limit = null, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Get,
            FormattableString.Invariant($"/v1/appstate/{Uri.EscapeDataString(collection)}?since={since}") + (limit is { } l ? FormattableString.Invariant($"&limit={l}") : ""),
            ClientJson.Default.AppStatePage,
            cancellationToken);

    /// <summary>
    /// <c>POST /v1/appstate/{collection}/patches</c>: stores the patch for <paramref name="version"/> (the latest plus
    /// one). Built on an older version it throws <see cref="AppStateConflictException"/>: fetch, rebase, upload again.
    /// </summary>
    public Task<AppStateHead> UploadAppStatePatchAsync(string collection, long version, byte[] patch, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Post, $"/v1/appstate/{Uri.EscapeDataString(collection)}/patches", new AppStatePatchBody(version, patch),
            ClientJson.Default.AppStatePatchBody, ClientJson.Default.AppStateHead, cancellationToken);

    /// <summary><c>PUT /v1/appstate/{collection}/snapshot</c>: stores the state at <paramref name="version"/>, replacing the patches up to it.</summary>
    public Task<AppStateHead> UploadAppStateSnapshotAsync(string collection, long version, byte[] snapshot, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Put, $"/v1/appstate/{Uri.EscapeDataString(collection)}/snapshot", new AppStateSnapshotBody(version, snapshot),
            ClientJson.Default.AppStateSnapshotBody, ClientJson.Default.AppStateHead, cancellationToken);

    /// <summary>Disposes the underlying <see cref="HttpClient"/> when this client created it.</summary>
    public void Dispose()
    {
        if (ownsHttp)
        {
            http.Dispose();
        }
    }

    private Task SendAsync(HttpMethod method, string path, CancellationToken cancellationToken) =>
        SendAsync<object?>(method, path, null, null, cancellationToken);

    private async Task SendAsync<TBody>(HttpMethod method, string path, TBody body, JsonTypeInfo<TBody>? bodyType, CancellationToken cancellationToken)
    {
        using var request = NewRequest(method, path, anonymous: false);
        if (bodyType is not null)
        {
            request.Content = JsonContent.Create(body, bodyType);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    private async Task<TAnswer> SendAsync<TAnswer>(HttpMethod method, string path, JsonTypeInfo<TAnswer> answerType, CancellationToken cancellationToken)
    {
        using var request = NewRequest(method, path, anonymous: false);
        return await ReadAsync(request, answerType, cancellationToken);
    }

    private async Task<TAnswer> SendAsync<TBody, TAnswer>(
        HttpMethod method, string path, TBody body, JsonTypeInfo<TBody> bodyType, JsonTypeInfo<TAnswer> answerType, CancellationToken cancellationToken, bool anonymous = false)
    {
        using var request = NewRequest(method, path, anonymous);
        request.Content = JsonContent.Create(body, bodyType);
        return await ReadAsync(request, answerType, cancellationToken);
    }

    /// <summary>The socket a request goes over now (<see cref="SendOver"/> says socket and <see cref="Connection"/> is connected), else null: HTTP.</summary>
    private DeviceConnection? OverSocket() => SendOver == SendTransport.Socket && Connection is { IsConnected: true } socket ? socket : null;

    private static string GroupPath(string groupId) => $"/v1/groups/{Uri.EscapeDataString(groupId)}";

    private HttpRequestMessage NewRequest(HttpMethod method, string path, bool anonymous)
    {
        var request = new HttpRequestMessage(method, path);
        if (!anonymous)
        {
            request.Headers.Authorization = Authorization
                ?? throw new InvalidOperationException($"{method} {path} needs a device's credentials; this client is anonymous");
        }

        return request;
    }

    private async Task<TAnswer> ReadAsync<TAnswer>(HttpRequestMessage request, JsonTypeInfo<TAnswer> answerType, CancellationToken cancellationToken)
    {
        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync(answerType, cancellationToken)
            ?? throw new ClusterApiException(response.StatusCode, "empty_answer", $"{request.Method} {request.RequestUri}: the server answered null");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        throw RefusalOf(response.StatusCode, text, response.ReasonPhrase, response.Headers.RetryAfter?.Delta);
    }

    /// <summary>The exception for a refusal, from its status and body: the same over HTTP and over the device socket.</summary>
    internal static ClusterApiException RefusalOf(HttpStatusCode status, string text, string? reasonPhrase, TimeSpan? retryAfter)
    {
        ErrorBody? error = null;
        try
        {
            error = text.Length == 0 ? null : JsonSerializer.Deserialize(text, ClientJson.Default.ErrorBody);
        }
        catch (JsonException)
        {
        }

        var code = error?.Error ?? status.ToString();
        var message = error?.Message ?? (text.Length == 0 ? reasonPhrase ?? "" : text);
        return status switch
        {
            HttpStatusCode.Conflict or HttpStatusCode.Gone when error?.Accounts is { } accounts =>
                new Groups.GroupViewMismatchException(status, code, message, error.MissingMembers ?? [], error.UnknownMembers ?? [], accounts),
            HttpStatusCode.Conflict when error?.MissingDevices is not null || error?.ExtraDevices is not null =>
                new MismatchedDevicesException(message, error.MissingDevices ?? [], error.ExtraDevices ?? []),
            HttpStatusCode.Gone when error?.StaleDevices is not null => new StaleDevicesException(message, error.StaleDevices),
            (HttpStatusCode)423 when error?.TimeRemaining is { } remaining => new RegistrationLockedException(message, TimeSpan.FromMilliseconds(remaining), error.LapsesAt ?? 0),
            HttpStatusCode.Conflict when error?.Version is { } version => new AppStateConflictException(code, message, version, error.SnapshotVersion ?? 0),
            _ => new ClusterApiException(status, code, message, error?.Field, retryAfter),
        };
    }
}
