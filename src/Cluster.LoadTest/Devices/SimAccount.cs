using Cluster.Client.Accounts;

namespace Cluster.LoadTest.Devices;

/// <summary>A simulated account: its devices as the run knows them. Device changes of one account are made by one caller at a time.</summary>
internal sealed class SimAccount(int index, string accountId)
{
    private readonly Lock gate = new();
    private readonly List<SimDevice> devices = [];
    private readonly HashSet<int> registrationIds = [];
    private uint lastKeyIndex;
    private long lastListTimestamp;

    public int Index { get; } = index;

    public string AccountId { get; } = accountId;

    /// <summary>Whether a companion of this account is linked and unlinked during the run (link-churn).</summary>
    public bool Churns { get; set; }

    public SimDevice Primary
    {
        get
        {
            lock (gate)
            {
                return devices[0];
            }
        }
    }

    /// <summary>The devices linked now, primary first.</summary>
    public IReadOnlyList<SimDevice> Devices
    {
        get
        {
            lock (gate)
            {
                return [.. devices];
            }
        }
    }

    /// <summary>The devices that send: all but churned companions, which come and go.</summary>
    public IReadOnlyList<SimDevice> Senders
    {
        get
        {
            lock (gate)
            {
                return [.. devices.Where(d => !d.IsChurned)];
            }
        }
    }

    public void Add(SimDevice device)
    {
        lock (gate)
        {
            devices.Add(device);
            devices.Sort((a, b) => a.DeviceId.CompareTo(b.DeviceId));
        }
    }

    public void Remove(SimDevice device)
    {
        lock (gate)
        {
            devices.Remove(device);
        }
    }

    /// <summary>A registration id no device of this account had before, so that a relinked device id is a new <see cref="Accounting.DeviceKey"/>.</summary>
    public int NewRegistrationId(Random random)
    {
        lock (gate)
        {
            while (true)
            {
                var id = random.Next(1, 16381);
                if (registrationIds.Add(id))
                {
                    return id;
                }
            }
        }
    }

    public uint NextKeyIndex()
    {
        lock (gate)
        {
            return ++lastKeyIndex;
        }
    }

    /// <summary>The primary's signed list of the companions linked now.</summary>
    public SignedDeviceList SignDeviceList()
    {
        lock (gate)
        {
            lastListTimestamp = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), lastListTimestamp + 1);
            return devices[0].Keys.SignDeviceList(AccountId, lastListTimestamp, devices.Skip(1).Select(d => d.KeyIndex));
        }
    }
}
