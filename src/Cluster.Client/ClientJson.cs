using System.Text.Json;
using System.Text.Json.Serialization;
using Cluster.Client.Accounts;
using Cluster.Client.AppState;
using Cluster.Client.Blobs;
using Cluster.Client.Keys;
using Cluster.Client.Messaging;

namespace Cluster.Client;

/// <summary>The protocol's JSON: camelCase, nulls left out, source-generated (no reflection at run time).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(RegistrationRequest))]
[JsonSerializable(typeof(VerificationCodeRequest))]
[JsonSerializable(typeof(VerificationCodeSent))]
[JsonSerializable(typeof(Push.WebPushSubscription))]
[JsonSerializable(typeof(Push.FcmSubscription))]
[JsonSerializable(typeof(Push.ApnsSubscription))]
[JsonSerializable(typeof(Push.PushSubscriptionStatus))]
[JsonSerializable(typeof(Calls.RingingCallOffer))]
[JsonSerializable(typeof(RegisteredDevice))]
[JsonSerializable(typeof(RegistrationLockBody))]
[JsonSerializable(typeof(DeviceInfoList))]
[JsonSerializable(typeof(LinkToken))]
[JsonSerializable(typeof(LinkRequest))]
[JsonSerializable(typeof(LinkAnswer))]
[JsonSerializable(typeof(SignedDeviceList))]
[JsonSerializable(typeof(AccountDevices))]
[JsonSerializable(typeof(PreKeyUpload))]
[JsonSerializable(typeof(KeyCounts))]
[JsonSerializable(typeof(PreKeyBundle))]
[JsonSerializable(typeof(OutgoingMessage))]
[JsonSerializable(typeof(SendResult))]
[JsonSerializable(typeof(Envelope))]
[JsonSerializable(typeof(MessagePage))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(StartCallBody))]
[JsonSerializable(typeof(CallIdAnswer))]
[JsonSerializable(typeof(PayloadBody))]
[JsonSerializable(typeof(UploadedBlob))]
[JsonSerializable(typeof(ProvisioningBody))]
[JsonSerializable(typeof(AckFrame))]
[JsonSerializable(typeof(SendMessagesFrame))]
[JsonSerializable(typeof(GroupMessageFrame))]
[JsonSerializable(typeof(StartCallFrame))]
[JsonSerializable(typeof(CallActionFrame))]
[JsonSerializable(typeof(AppStateHead))]
[JsonSerializable(typeof(AppStateHeadList))]
[JsonSerializable(typeof(AppStatePage))]
[JsonSerializable(typeof(AppStatePatchBody))]
[JsonSerializable(typeof(AppStateSnapshotBody))]
[JsonSerializable(typeof(Groups.GroupInfo))]
[JsonSerializable(typeof(Groups.GroupMessage))]
[JsonSerializable(typeof(Groups.CreateGroupBody))]
[JsonSerializable(typeof(Groups.GroupMembersBody))]
[JsonSerializable(typeof(Groups.GroupList))]
[JsonSerializable(typeof(Groups.GroupSendAnswer))]
internal sealed partial class ClientJson : JsonSerializerContext;

internal sealed record DeviceInfoList(IReadOnlyList<DeviceInfo> Devices);

internal sealed record LinkAnswer(int DeviceId);

internal sealed record ErrorBody(
    string? Error, string? Message, string? Field, IReadOnlyList<int>? MissingDevices, IReadOnlyList<int>? ExtraDevices, IReadOnlyList<int>? StaleDevices, long? Version = null, long? SnapshotVersion = null, long? TimeRemaining = null, long? LapsesAt = null,
    IReadOnlyList<string>? MissingMembers = null, IReadOnlyList<string>? UnknownMembers = null, IReadOnlyList<Groups.GroupAccountDevices>? Accounts = null);

internal sealed record StartCallBody(string To, IReadOnlyList<Calls.CallOffer> Offers);

internal sealed record CallIdAnswer(string CallId);

internal sealed record PayloadBody(byte[] Payload);

internal sealed record ProvisioningBody(string Body);

internal sealed record AckFrame(string Kind, IReadOnlyList<Guid> Ids);

/// <summary>A <c>sendMessages</c> request over the device socket: <c>PUT /v1/messages/{accountId}</c> as a frame.</summary>
internal sealed record SendMessagesFrame(string Kind, string Id, string Type, string AccountId, OutgoingMessage Body);

/// <summary>A <c>sendGroupMessage</c> request over the device socket: <c>PUT /v1/groups/{groupId}/messages</c> as a frame.</summary>
internal sealed record GroupMessageFrame(string Kind, string Id, string Type, string GroupId, Groups.GroupMessage Body);

/// <summary>A <c>startCall</c> request over the device socket: <c>POST /v1/calls</c> as a frame.</summary>
internal sealed record StartCallFrame(string Kind, string Id, string Type, StartCallBody Body);

/// <summary>
/// An <c>answerCall</c>, <c>rejectCall</c>, <c>hangupCall</c> or <c>relayIce</c> request over the device socket:
/// <c>POST /v1/calls/{callId}/{action}</c> as a frame, with a body for answer and ICE.
/// </summary>
internal sealed record CallActionFrame(string Kind, string Id, string Type, string CallId, PayloadBody? Body);
