using System.Security.Cryptography;

namespace Cluster.Abstractions.Groups;

/// <summary>Group ids: 128 random bits from a CSPRNG, written as 32 lowercase hex digits, assigned by the server on create.</summary>
public static class GroupIds
{
    private const int Bytes = 16;

    /// <summary>A fresh, unguessable group id.</summary>
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(Bytes));

    /// <summary>Whether <paramref name="groupId"/> has the form of a group id (32 lowercase hex digits).</summary>
    public static bool IsValid(string? groupId) =>
        groupId is { Length: Bytes * 2 } && groupId.All(static c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
