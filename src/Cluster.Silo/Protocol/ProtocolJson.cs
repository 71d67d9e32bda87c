using System.Text.Json;
using System.Text.Json.Serialization;
using Cluster.Silo.Accounts;
using Cluster.Silo.Calls;
using Cluster.Silo.Devices;
using Cluster.Silo.Keys;
using Cluster.Silo.Messaging;
using Cluster.Silo.Push;

namespace Cluster.Silo.Protocol;

/// <summary>
/// Source-generated JSON for the client protocol: camelCase, base64 byte arrays, no reflection. Metadata mode only:
/// the generated fast-path serializer of .NET 10 writes a null <c>byte[]</c> as <c>""</c> (dotnet/runtime#129833),
/// and the protocol's nulls (the primary's signatures) must stay null.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    GenerationMode = JsonSourceGenerationMode.Metadata,
    NumberHandling = JsonNumberHandling.Strict,
    RespectNullableAnnotations = false)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(RegisterAccountRequest))]
[JsonSerializable(typeof(Cluster.Silo.Verification.VerificationCodeRequest))]
[JsonSerializable(typeof(Cluster.Silo.Verification.VerificationCodeResponse))]
[JsonSerializable(typeof(RegisterAccountResponse))]
[JsonSerializable(typeof(RegistrationLockRequest))]
[JsonSerializable(typeof(RegistrationLockedError))]
[JsonSerializable(typeof(DeviceListResponse))]
[JsonSerializable(typeof(KeysUploadRequest))]
[JsonSerializable(typeof(KeyCountsResponse))]
[JsonSerializable(typeof(BundleResponse))]
[JsonSerializable(typeof(SendMessagesRequest))]
[JsonSerializable(typeof(SendMessagesResponse))]
[JsonSerializable(typeof(MessagePageResponse))]
[JsonSerializable(typeof(MismatchedDevicesError))]
[JsonSerializable(typeof(StaleDevicesError))]
[JsonSerializable(typeof(SocketClientFrame))]
[JsonSerializable(typeof(StartCallRequest))]
[JsonSerializable(typeof(CallPayloadRequest))]
[JsonSerializable(typeof(CallOfferResponse))]
[JsonSerializable(typeof(CallIdResponse))]
[JsonSerializable(typeof(LinkTokenResponse))]
[JsonSerializable(typeof(LinkDeviceRequest))]
[JsonSerializable(typeof(LinkDeviceResponse))]
[JsonSerializable(typeof(DeviceListRequest))]
[JsonSerializable(typeof(AccountDevicesResponse))]
[JsonSerializable(typeof(PushSubscriptionRequest))]
[JsonSerializable(typeof(PushSubscriptionStatusResponse))]
[JsonSerializable(typeof(Cluster.Silo.Provisioning.ProvisionRequest))]
[JsonSerializable(typeof(Cluster.Silo.Provisioning.ProvisioningAddressFrame))]
[JsonSerializable(typeof(Cluster.Silo.Provisioning.ProvisionFrame))]
[JsonSerializable(typeof(Cluster.Silo.Blobs.BlobCreatedResponse))]
[JsonSerializable(typeof(Cluster.Silo.AppState.AppStatePatchRequest))]
[JsonSerializable(typeof(Cluster.Silo.AppState.AppStateSnapshotRequest))]
[JsonSerializable(typeof(Cluster.Silo.AppState.AppStateCollectionResponse))]
[JsonSerializable(typeof(Cluster.Silo.AppState.AppStateListResponse))]
[JsonSerializable(typeof(Cluster.Silo.AppState.AppStateFetchResponse))]
[JsonSerializable(typeof(Cluster.Silo.AppState.AppStateConflictError))]
[JsonSerializable(typeof(Cluster.Silo.Groups.CreateGroupRequest))]
[JsonSerializable(typeof(Cluster.Silo.Groups.AddGroupMembersRequest))]
[JsonSerializable(typeof(Cluster.Silo.Groups.SetGroupInfoRequest))]
[JsonSerializable(typeof(Cluster.Silo.Groups.GroupResponse))]
[JsonSerializable(typeof(Cluster.Silo.Groups.GroupListResponse))]
[JsonSerializable(typeof(Cluster.Silo.Groups.SendGroupMessageRequest))]
[JsonSerializable(typeof(Cluster.Silo.Groups.SendGroupMessageResponse))]
[JsonSerializable(typeof(GroupMismatchedDevicesError))]
[JsonSerializable(typeof(GroupStaleDevicesError))]
internal sealed partial class ProtocolJson : JsonSerializerContext;
