using System.Security.Cryptography;

namespace Cluster.Abstractions.Calls;

/// <summary>Call ids: 128 random bits from a CSPRNG, written as 32 lowercase hex digits, so that nobody can guess one.</summary>
public static class CallIds
{
    private const int Bytes = 16;

    /// <summary>A fresh, unguessable call id.</summary>
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(Bytes));

    /// <summary>Whether <paramref name="callId"/> has the form of a call id (32 lowercase hex digits).</summary>
    public static bool IsValid(string? callId)
    {
        if (callId is not { Length: Bytes * 2 })
        {
            return false;
        }

        foreach (var c in callId)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
