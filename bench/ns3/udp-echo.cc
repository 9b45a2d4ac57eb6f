// udp-echo: issue 17's UDP echo workload in ns-3 (3.37, Debian 12's
// libns3-dev), for the comparison in bench/issue17.  Not part of natlab's
// build: bench/issue17 compiles it with g++ and pkg-config when ns-3 is
// installed, with the workload's parameters read out of the scenario file
// by bench/workload.sh, so both simulators run the same workload.
//
//   udp-echo --lans=100 --perLan=10 --count=100 --intervalMs=10
//            --spreadMs=10 --size=100 --lanMs=1 --internetMs=5 --durationS=3
//
// The topology: LANS CSMA LANs (latency lanMs), each with perLan echo
// clients and a router; every router has a point-to-point link (latency
// internetMs) to the one echo server.  ns-3 has no NAT, so where natlab's
// scenario has a NAT the router only routes: the same hops and latencies,
// no translation.  Static routes (clients: default via their router;
// routers: default via the server; the server: each LAN via its link).
// Links are 10 Gb/s, so serialization adds about 0.1 us a hop.
//
// The programs: client i (1-based) starts at (i % spreadMs) ms, sends a datagram
// of size bytes to the server, waits for the echo, checks its bytes, and
// sends the next one intervalMs after it, count in all; the server echoes
// every datagram.  As natlab's udp-echo-client and udp-echo-server.
//
// Prints one line: counts and the CPU time of Simulator::Run() alone (not
// the setup) and of the whole process.
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

using namespace ns3;

static uint64_t g_deliveries;
static uint64_t g_bad;

static double
CpuSeconds()
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

class EchoServer : public Application
{
  public:
    void StartApplication() override
    {
        m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
        m_socket->Bind(InetSocketAddress(Ipv4Address::GetAny(), 7));
        m_socket->SetRecvCallback(MakeCallback(&EchoServer::Receive, this));
    }

    void StopApplication() override
    {
        m_socket->Close();
    }

  private:
    void Receive(Ptr<Socket> s)
    {
        Ptr<Packet> p;
        Address from;
        while ((p = s->RecvFrom(from)))
        {
            g_deliveries++;
            s->SendTo(p, 0, from);
        }
    }

    Ptr<Socket> m_socket;
};

class PacedEchoClient : public Application
{
  public:
    void Setup(Ipv4Address server, const std::vector<uint8_t>* msg, uint32_t count, Time interval)
    {
        m_server = server;
        m_msg = msg;
        m_count = count;
        m_interval = interval;
    }

    void StartApplication() override
    {
        m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
        m_socket->Bind();
        m_socket->Connect(InetSocketAddress(m_server, 7));
        m_socket->SetRecvCallback(MakeCallback(&PacedEchoClient::Receive, this));
        Send();
    }

    void StopApplication() override
    {
        m_socket->Close();
    }

  private:
    void Send()
    {
        m_sent++;
        m_socket->Send(Create<Packet>(m_msg->data(), m_msg->size()));
    }

    void Receive(Ptr<Socket> s)
    {
        Ptr<Packet> p;
        while ((p = s->Recv()))
        {
            g_deliveries++;
            uint8_t buf[2048];
            uint32_t n = p->CopyData(buf, sizeof buf);
            if (n != m_msg->size() || memcmp(buf, m_msg->data(), n) != 0)
                g_bad++;
            if (m_sent < m_count)
                Simulator::Schedule(m_interval, &PacedEchoClient::Send, this);
        }
    }

    Ptr<Socket> m_socket;
    Ipv4Address m_server;
    const std::vector<uint8_t>* m_msg = nullptr;
    uint32_t m_count = 0;
    uint32_t m_sent = 0;
    Time m_interval;
};

int
main(int argc, char* argv[])
{
    uint32_t lans = 100;
    uint32_t perLan = 10;
    uint32_t count = 100;
    uint32_t intervalMs = 10;
    uint32_t spreadMs = 10;
    uint32_t size = 100;
    uint32_t lanMs = 1;
    uint32_t internetMs = 5;
    double durationS = 3;
    CommandLine cmd;
    cmd.AddValue("lans", "LANs, each with a router", lans);
    cmd.AddValue("perLan", "echo clients on each LAN", perLan);
    cmd.AddValue("count", "datagrams each client sends", count);
    cmd.AddValue("intervalMs", "pause after each echo", intervalMs);
    cmd.AddValue("spreadMs", "client i starts at i % spreadMs ms", spreadMs);
    cmd.AddValue("size", "datagram payload bytes", size);
    cmd.AddValue("lanMs", "LAN latency", lanMs);
    cmd.AddValue("internetMs", "router <-> server latency", internetMs);
    cmd.AddValue("durationS", "virtual time to run", durationS);
    cmd.Parse(argc, argv);
    if (lans < 1 || lans > 65000 || perLan < 1 || perLan > 250 || size > 1400 ||
        spreadMs < 1)
    {
        fprintf(stderr, "udp-echo: out of range\n");
        return 2;
    }
    std::vector<uint8_t> msg(size, 'x');

    Ptr<Node> server = CreateObject<Node>();
    NodeContainer routers;
    routers.Create(lans);
    InternetStackHelper stack;
    stack.Install(server);
    stack.Install(routers);

    CsmaHelper csma;
    csma.SetChannelAttribute("DataRate", StringValue("10Gbps"));
    csma.SetChannelAttribute("Delay", TimeValue(MilliSeconds(lanMs)));
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", StringValue("10Gbps"));
    p2p.SetChannelAttribute("Delay", TimeValue(MilliSeconds(internetMs)));

    Ipv4StaticRoutingHelper srh;
    Ipv4AddressHelper links("172.16.0.0", "255.255.255.252");
    Ptr<Ipv4> serverIp = server->GetObject<Ipv4>();
    Ptr<Ipv4StaticRouting> serverRoutes = srh.GetStaticRouting(serverIp);
    Ipv4Address serverAddr;
    uint32_t clientNo = 0;
    for (uint32_t l = 1; l <= lans; l++)
    {
        Ptr<Node> router = routers.Get(l - 1);
        NetDeviceContainer link = p2p.Install(router, server);
        Ipv4InterfaceContainer linkIf = links.Assign(link);
        links.NewNetwork();
        if (l == 1)
            serverAddr = linkIf.GetAddress(1);

        NodeContainer clients;
        clients.Create(perLan);
        stack.Install(clients);
        NodeContainer lan(router);
        lan.Add(clients);
        NetDeviceContainer lanDev = csma.Install(lan);
        char base[32];
        snprintf(base, sizeof base, "10.%u.%u.0", l / 256, l % 256);
        Ipv4AddressHelper lanAddr(base, "255.255.255.0", "0.0.0.1");
        Ipv4InterfaceContainer lanIf = lanAddr.Assign(lanDev);

        Ptr<Ipv4> rip = router->GetObject<Ipv4>();
        srh.GetStaticRouting(rip)->SetDefaultRoute(linkIf.GetAddress(1),
                                                   rip->GetInterfaceForDevice(link.Get(0)));
        serverRoutes->AddNetworkRouteTo(Ipv4Address(base),
                                        Ipv4Mask("255.255.255.0"),
                                        linkIf.GetAddress(0),
                                        serverIp->GetInterfaceForDevice(link.Get(1)));
        for (uint32_t k = 0; k < perLan; k++)
        {
            Ptr<Node> c = clients.Get(k);
            Ptr<Ipv4> cip = c->GetObject<Ipv4>();
            srh.GetStaticRouting(cip)->SetDefaultRoute(lanIf.GetAddress(0),
                                                       cip->GetInterfaceForDevice(lanDev.Get(k + 1)));
            clientNo++;
            Ptr<PacedEchoClient> app = CreateObject<PacedEchoClient>();
            app->Setup(serverAddr, &msg, count, MilliSeconds(intervalMs));
            c->AddApplication(app);
            app->SetStartTime(MilliSeconds(clientNo % spreadMs));
            app->SetStopTime(Seconds(durationS));
        }
    }
    // Every client sends to the server's address on the first link; the
    // server accepts it on any interface (weak end system, ns-3's default).
    Ptr<EchoServer> echo = CreateObject<EchoServer>();
    server->AddApplication(echo);
    echo->SetStartTime(Seconds(0));
    echo->SetStopTime(Seconds(durationS));

    Simulator::Stop(Seconds(durationS));
    double c0 = CpuSeconds();
    Simulator::Run();
    double c1 = CpuSeconds();
    uint64_t events = Simulator::GetEventCount();
    Simulator::Destroy();
    printf("ns3: hosts=%u lans=%u events=%llu delivered=%llu bad=%llu "
           "cpu-run=%.3f cpu=%.3f deliv/s=%.0f ns/delivery=%.1f\n",
           clientNo,
           lans,
           (unsigned long long)events,
           (unsigned long long)g_deliveries,
           (unsigned long long)g_bad,
           c1 - c0,
           c1,
           g_deliveries / (c1 - c0),
           1e9 * (c1 - c0) / g_deliveries);
    return g_bad != 0 || g_deliveries != 2ull * clientNo * count;
}
