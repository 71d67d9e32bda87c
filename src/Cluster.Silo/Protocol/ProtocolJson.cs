using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Silo.Protocol;

/// <summary>Source-generated JSON for the client protocol: camelCase, base64 byte arrays, no reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict, RespectNullableAnnotations = false)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(RegisterAccountRequest))]
[JsonSerializable(typeof(RegisterAccountResponse))]
[JsonSerializable(typeof(DeviceListResponse))]
[JsonSerializable(typeof(KeysUploadRequest))]
[JsonSerializable(typeof(KeyCountsResponse))]
[JsonSerializable(typeof(BundleResponse))]
[JsonSerializable(typeof(SendMessagesRequest))]
[JsonSerializable(typeof(SendMessagesResponse))]
[JsonSerializable(typeof(MismatchedDevicesError))]
[JsonSerializable(typeof(StaleDevicesError))]
[JsonSerializable(typeof(SocketClientFrame))]
internal sealed partial class ProtocolJson : JsonSerializerContext;
