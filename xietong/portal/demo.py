"""Demo content of the portal: owner departments, publishers and reviewers of the channels,
and a few realistic articles in each — a regulation with two versions, picture news with
covers drawn here, downloads with generated files, one article waiting for review.

The articles go through the services (screening, review, versions) like real ones; only their
publication times are moved back afterwards, so that the home page looks lived in.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from xietong.core import clock
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit
from xietong.org.services import role_grant_by_system
from xietong.portal import services
from xietong.portal.models import Article, ArticleRead, ArticleVersion, Channel

REASON = "演示数据"

#: Channel → owner department (the unit codes of ``xietong.org.demo``).
OWNERS = {
    "tzgg": "HQ-ZH",
    "xwdt": "HQ-ZH",
    "gsyb": "HQ-ZH",
    "cyxz": "HQ-ZH",
    "tpxw": "HQ-ZH",
    "gzzd": "HQ-ZH",
    "zcfg": "HQ-ZH",
    "qywh": "HQ-DQ",
    "cyl": "HQ-DQ",
    "djgz": "HQ-DQ",
    "xxyd": "HQ-DQ",
    "jjjc": "HQ-DQ",
    "aqjc": "HQ-AJ",
}

_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def _p(*paragraphs: str) -> str:
    return "".join(f"<p>{text}</p>" for text in paragraphs)


@dataclass
class Item:
    channel: str
    title: str
    body: str
    summary: str = ""
    days_ago: float = 1
    pinned: bool = False
    author: str = "head"  # "head" of the owner department, or a username
    audience_units: list[str] = field(default_factory=list)
    readers: int = 20


ARTICLES = [
    Item(
        "xwdt",
        "集团召开2026年第四季度工作会议 部署年末重点任务",
        _p(
            "11月20日，集团召开2026年第四季度工作会议，总结前三季度生产经营情况，部署年末各项重点任务。"
            "集团领导班子成员、各部门及所属单位主要负责人参加会议。",
            "会议指出，前三季度集团上下坚持稳中求进工作总基调，发电量、营业收入同比分别增长6.2%和5.8%，"
            "安全生产保持平稳，重点项目建设按计划推进。",
            "会议要求，各单位要紧盯全年目标任务，抓好迎峰度冬电力保供、安全生产、成本管控和年度考核等重点工作，"
            "确保全年目标圆满完成，为明年工作开好局、起好步。",
        ),
        summary="总结前三季度生产经营情况，部署迎峰度冬保供、安全生产、成本管控等年末重点任务。",
        days_ago=0.2,
        pinned=True,
        readers=46,
    ),
    Item(
        "xwdt",
        "华东分公司完成2号机组超低排放改造",
        _p(
            "近日，华东分公司2号机组超低排放改造工程顺利通过验收，烟尘、二氧化硫、氮氧化物排放浓度"
            "分别降至每立方米3毫克、18毫克和32毫克，优于国家超低排放标准。",
            "改造期间，项目团队克服工期紧、交叉作业多等困难，精心组织、科学施工，实现了安全、质量、进度“三不误”。",
        ),
        days_ago=2,
        author="zhangwei",
        readers=31,
    ),
    Item(
        "xwdt",
        "集团与地方政府签署新能源合作框架协议",
        _p(
            "11月15日，集团与西南某市人民政府签署新能源项目合作框架协议。双方将在风电、光伏及储能领域开展全方位合作，"
            "规划建设新能源装机容量100万千瓦。",
            "根据协议，项目将分三期建设，首期30万千瓦光伏项目计划于明年开工。",
        ),
        days_ago=5,
        readers=28,
    ),
    Item(
        "xwdt",
        "集团召开迎峰度冬电力保供动员部署会",
        _p(
            "11月22日，集团召开迎峰度冬电力保供动员部署会，分析今冬明春电力供需形势，部署保供重点工作。",
            "会议要求，各发电企业要加强燃料储备，确保存煤可用天数不低于20天；加强设备巡检消缺，"
            "确保机组“应开尽开、稳发满发”。",
        ),
        days_ago=1.5,
        readers=38,
    ),
    Item(
        "xwdt",
        "西南分公司50兆瓦光伏项目开工建设",
        _p(
            "11月19日，西南分公司50兆瓦农光互补光伏项目正式开工。项目建成后年均发电量约6500万千瓦时，"
            "每年可节约标准煤约2万吨，减少二氧化碳排放约5.3万吨。",
        ),
        days_ago=9,
        readers=23,
    ),
    Item(
        "xwdt",
        "集团举办第五届青年员工技能比武",
        _p(
            "本届技能比武设集控运行、电气检修、热工自动化三个项目，来自所属各单位的96名青年员工同台竞技。",
            "经过理论考试和实操比拼，共评出个人一等奖3名、二等奖6名、三等奖9名。",
        ),
        days_ago=13,
        readers=34,
    ),
    Item(
        "xwdt",
        "华东分公司开展冬季消防应急演练",
        _p(
            "为提高员工火灾应急处置能力，华东分公司于11月18日组织开展冬季消防应急演练。",
            "演练模拟办公楼三层突发火情，各部门按预案有序疏散，义务消防队快速到位处置，全程用时6分30秒。",
        ),
        days_ago=8,
        audience_units=["EC"],
        readers=12,
    ),
    Item(
        "gsyb",
        "公司2026年10月生产经营月报",
        _p(
            "10月份，公司完成发电量18.6亿千瓦时，同比增长4.1%；完成营业收入7.9亿元，同比增长3.6%。",
            "安全生产：未发生一般及以上安全事故，完成隐患排查整改126项。",
            "重点工作：2号机组超低排放改造完成验收；年度检修计划完成率92%。",
        ),
        summary="10月份完成发电量18.6亿千瓦时，同比增长4.1%；安全生产平稳。",
        days_ago=12,
        readers=25,
    ),
    Item(
        "gsyb",
        "公司2026年9月生产经营月报",
        _p(
            "9月份，公司完成发电量17.2亿千瓦时，同比增长3.3%；完成营业收入7.3亿元。",
            "安全生产：开展“安全生产月”总结评估，完成隐患排查整改98项。",
        ),
        days_ago=42,
        readers=33,
    ),
    Item(
        "zcfg",
        "《中华人民共和国安全生产法》重点条款解读",
        _p(
            "新修订的《安全生产法》进一步压实了生产经营单位的主体责任，明确“管行业必须管安全、管业务必须管安全、"
            "管生产经营必须管安全”。",
            "本文结合公司实际，对全员安全生产责任制、安全风险分级管控和隐患排查治理双重预防机制等重点条款进行解读。",
        ),
        days_ago=20,
        readers=19,
    ),
    Item(
        "zcfg",
        "国家发展改革委关于进一步完善分时电价机制的通知（摘要）",
        _p(
            "通知要求各地进一步完善峰谷电价机制，合理确定峰谷时段，适当拉大峰谷价差，建立尖峰电价机制。",
            "公司营销部门将结合通知要求，研究对售电业务的影响并提出应对措施。",
        ),
        days_ago=33,
        readers=14,
    ),
    Item(
        "qywh",
        "“最美华电人”评选结果揭晓",
        _p(
            "经基层推荐、资格审查、公示和评审委员会评议，2026年度“最美华电人”评选结果正式揭晓，共有10名员工获此殊荣。",
            "他们中有扎根一线三十年的老检修工，有攻克技术难题的青年骨干，也有热心公益的志愿者，"
            "展现了新时代华电人爱岗敬业、担当奉献的精神风貌。",
        ),
        days_ago=3,
        pinned=True,
        readers=52,
    ),
    Item(
        "qywh",
        "职工书画摄影作品展在集团总部开展",
        _p("展览共展出职工书法、绘画和摄影作品120余件，展期两周，欢迎广大职工前往参观。"),
        days_ago=15,
        readers=22,
    ),
    Item(
        "cyl",
        "对标世界一流 推进管理提升专项行动",
        _p(
            "集团启动对标世界一流管理提升专项行动，围绕战略、组织、运营、财务、科技、风控、人才、信息化等八个领域，"
            "系统梳理差距，制定提升举措。",
            "各单位要结合实际选定对标对象，明确提升目标和时间表，确保专项行动取得实效。",
        ),
        days_ago=6,
        readers=17,
    ),
    Item(
        "cyl",
        "集团两项科技成果获省部级科学技术奖",
        _p("集团《燃煤机组深度调峰关键技术研究与应用》等两项成果获省部级科学技术进步奖二等奖。"),
        days_ago=25,
        readers=21,
    ),
    Item(
        "djgz",
        "集团党委召开理论学习中心组学习会",
        _p(
            "11月12日，集团党委召开理论学习中心组学习会，深入学习贯彻党的重要会议精神，研究部署贯彻落实举措。",
            "会议强调，要把学习成果转化为推动高质量发展的实际成效，在保障能源安全、推进绿色转型中展现担当作为。",
        ),
        days_ago=4,
        pinned=True,
        readers=39,
    ),
    Item(
        "djgz",
        "各基层党支部开展“主题党日”活动",
        _p("本月，各基层党支部围绕“安全生产我先行”主题开展主题党日活动，党员带头查隐患、保安全。"),
        days_ago=10,
        readers=18,
    ),
    Item(
        "xxyd",
        "办公软件小技巧：用表格快速汇总部门数据",
        _p(
            "很多同事每月需要汇总部门报表。本文介绍使用数据透视表快速汇总、筛选和分组统计的方法，几分钟即可完成原来半天的工作。",
            "步骤一：选中数据区域，插入数据透视表；步骤二：将“部门”拖入行，将“金额”拖入值；步骤三：按需添加筛选。",
        ),
        days_ago=7,
        readers=27,
    ),
    Item(
        "xxyd",
        "公文写作常见问题及规范要求",
        _p("本文梳理了公文格式、标题、主送机关、附件说明等方面的常见问题，并给出规范写法示例。"),
        days_ago=18,
        readers=24,
    ),
    Item(
        "jjjc",
        "节日期间廉洁自律提醒",
        _p(
            "元旦、春节将至，集团纪委提醒广大党员干部严格遵守中央八项规定及其实施细则精神，"
            "不得违规收送礼品礼金，不得违规公款吃喝，不得公车私用。",
            "欢迎广大职工对违反规定的行为进行监督举报。",
        ),
        days_ago=1,
        pinned=True,
        readers=41,
    ),
    Item(
        "jjjc",
        "以案为鉴：某单位违规发放津补贴典型案例通报",
        _p("通报某单位以各种名义违规发放津补贴的典型案例，警示全体干部职工引以为戒。"),
        days_ago=16,
        readers=29,
    ),
    Item(
        "aqjc",
        "关于开展冬季安全生产大检查的通知",
        _p(
            "为做好冬季安全生产工作，集团决定自12月1日起开展为期一个月的冬季安全生产大检查。",
            "检查重点：防寒防冻措施落实情况、消防设施完好情况、危险化学品管理、有限空间作业管理等。",
        ),
        days_ago=0.5,
        pinned=True,
        readers=35,
    ),
    Item(
        "aqjc",
        "10月份安全监察情况通报",
        _p("10月份共开展安全监督检查42次，发现问题156项，已整改148项，整改率94.9%。"),
        days_ago=14,
        readers=26,
    ),
    Item(
        "aqjc",
        "典型违章警示：高处作业未系安全带",
        _p("某检修现场作业人员在2米以上高处作业未系安全带，被安全监察人员当场制止。请各单位引以为戒。"),
        days_ago=22,
        readers=30,
    ),
]

GALLERY = [
    ("集团新建200兆瓦光伏电站并网发电", ((255, 183, 77), (214, 90, 49)), "sun", 1),
    ("华东分公司风电场完成年度检修", ((72, 149, 239), (28, 63, 140)), "wind", 4),
    ("职工运动会在集团总部体育场举行", ((94, 196, 148), (24, 110, 86)), "track", 9),
]


def load() -> None:
    channels = services.ensure_default_channels()
    roles = builtin.ensure_builtin_roles()
    units = {unit.code: unit for unit in OrgUnit.objects.filter(code__in=set(OWNERS.values()) | {"EC", "HQ"})}
    heads = {
        post.unit.code: post.user
        for post in Membership.objects.filter(
            is_head=True, unit__code__in=set(OWNERS.values())
        ).select_related("unit", "user")
    }
    zhangwei = User.objects.get(username="zhangwei")

    # The head of the general office administers the portal; each owner department's head
    # reviews its channels and publishes in them too (publishing directly, self-approved).
    role_grant_by_system(
        role=roles[builtin.PORTAL_ADMIN], user=heads["HQ-ZH"], scope=DataScope.GROUP, reason=REASON
    )
    for code in ("HQ-DQ", "HQ-AJ"):
        role_grant_by_system(
            role=roles[builtin.PORTAL_REVIEWER], user=heads[code], scope=DataScope.DEPARTMENT, reason=REASON
        )
    for code, unit_code in OWNERS.items():
        channel = channels[code]
        channel.owner_unit = units[unit_code]
        channel.save(update_fields=["owner_unit"])
        channel.publishers.add(heads[unit_code])
        if unit_code == "HQ-ZH":
            channel.publishers.add(zhangwei)

    authors = {user.pk: User.objects.get(pk=user.pk) for user in [*heads.values(), zhangwei]}
    # Employees with a post (the 三员 accounts have none, and read no business content).
    staff = User.objects.filter(is_active=True, memberships__position__isnull=False).distinct().order_by("pk")
    readers = list(staff)
    rng = random.Random(20261128)  # noqa: S311  (same demo everywhere)
    now = clock.now()

    for item in ARTICLES:
        channel = channels[item.channel]
        author = zhangwei if item.author == "zhangwei" else heads[OWNERS[item.channel]]
        article = _publish(
            channel,
            authors[author.pk],
            heads[OWNERS[item.channel]],
            services.ArticleInput(
                title=item.title,
                body=item.body,
                summary=item.summary,
                pinned=item.pinned,
                audience_everyone=not item.audience_units,
                audience_units=[units[code] for code in item.audience_units],
            ),
        )
        audience = readers
        if item.audience_units:
            paths = [units[code].path for code in item.audience_units]
            audience = list(staff.filter(memberships__unit__path__startswith=paths[0]))
        _backdate(article, now - dt.timedelta(days=item.days_ago), audience, rng, item.readers)

    office_head = authors[heads["HQ-ZH"].pk]
    _regulation(channels["gzzd"], office_head, now, readers, rng)
    _gallery(channels["tpxw"], office_head, now, readers, rng)
    _downloads(channels["cyxz"], office_head, now)

    # One article of 张伟's waits for the office head's review (the 待审核 of his workbench).
    pending = services.article_create(
        actor=zhangwei,
        channel=channels["xwdt"],
        data=services.ArticleInput(
            title="集团信息中心完成协同办公平台上线培训",
            body=_p(
                "为做好协同办公平台推广应用，信息中心于本周分批次组织开展平台使用培训，"
                "覆盖集团总部及所属单位员工400余人次。",
                "培训内容包括待办处理、公文流转、通知回执、门户投稿等常用功能。",
            ),
        ),
    )
    services.article_submit(actor=zhangwei, article=pending)

    news = Article.objects.filter(channel=channels["xwdt"], status=Article.Status.PUBLISHED).order_by(
        "-publish_at"
    )
    first = news.first()
    if first is not None:
        for person, text in zip(
            readers[5:8],
            (
                "保供任务重，我们班组一定守好安全底线。",
                "会议精神很及时，部门已组织传达学习。",
                "期待年终圆满收官！",
            ),
            strict=False,
        ):
            services.comment_create(actor=person, article=first, body=text)


def _publish(channel: Channel, author: User, reviewer: User, data: services.ArticleInput) -> Article:
    article = services.article_create(actor=author, channel=channel, data=data)
    article = services.article_submit(actor=author, article=article)
    if article.status == Article.Status.SUBMITTED:
        article = services.article_approve(actor=reviewer, article=article)
    return article


def _backdate(
    article: Article, when: dt.datetime, readers: list[User], rng: random.Random, count: int
) -> None:
    """Move the publication back to ``when`` and give the article some readers."""
    Article.objects.filter(pk=article.pk).update(
        publish_at=when, published_at=when, reviewed_at=when, created_at=when, updated_at=when
    )
    ArticleVersion.objects.filter(article=article).update(created_at=when)
    chosen = rng.sample(readers, min(count, len(readers)))
    ArticleRead.objects.bulk_create(
        [ArticleRead(article=article, user=user, first_read_at=when) for user in chosen],
        ignore_conflicts=True,
    )
    Article.objects.filter(pk=article.pk).update(
        reader_count=len(chosen), view_count=F("view_count") + len(chosen) + rng.randint(0, count)
    )


def _regulation(
    channel: Channel, head: User, now: dt.datetime, readers: list[User], rng: random.Random
) -> None:
    today = timezone.localdate(now)
    rules = [
        (
            "公司差旅费管理办法",
            _p(
                "第一条 为规范公司差旅费管理，厉行节约，根据国家有关规定，结合公司实际，制定本办法。",
                "第二条 本办法适用于公司全体员工因公出差发生的城市间交通费、住宿费、伙食补助费和市内交通费。",
                "第三条 出差人员应当按规定等级乘坐交通工具，未按规定等级乘坐的，超支部分由个人自付。",
                "第四条 住宿费在标准限额内凭票据据实报销，一线城市每人每天不超过500元，其他城市不超过380元。",
            ),
            _p(
                "第一条 为规范公司差旅费管理，厉行节约，根据国家有关规定，结合公司实际，制定本办法。",
                "第二条 本办法适用于公司全体员工因公出差发生的城市间交通费、住宿费、伙食补助费和市内交通费。",
                "第三条 出差人员应当按规定等级乘坐交通工具，未按规定等级乘坐的，超支部分由个人自付。",
                "第四条 住宿费在标准限额内凭票据据实报销，一线城市每人每天不超过600元，其他城市不超过450元。",
                "第五条 出差人员应在返回后10个工作日内通过协同办公平台提交报销申请。",
            ),
        ),
        (
            "协同办公平台使用管理规定",
            _p(
                "第一条 协同办公平台是公司内部信息发布、公文流转和协同工作的统一平台。",
                "第二条 员工应妥善保管账号和密码，不得将账号转借他人使用。",
                "第三条 涉密信息不得通过平台传播，确需发布的须严格设定查看权限。",
            ),
            "",
        ),
        (
            "公司安全生产责任制管理办法",
            _p(
                "第一条 为落实安全生产主体责任，建立健全全员安全生产责任制，制定本办法。",
                "第二条 公司主要负责人是本单位安全生产第一责任人，对安全生产工作全面负责。",
            ),
            "",
        ),
    ]
    for index, (title, first, second) in enumerate(rules):
        started = today - dt.timedelta(days=400 + 90 * index)
        article = _publish(
            channel,
            head,
            head,
            services.ArticleInput(title=title, body=first, effective_from=started),
        )
        _backdate(article, timezone.make_aware(dt.datetime.combine(started, dt.time(9))), readers, rng, 15)
        if second:
            # The revised version takes effect next month: the current one stays in force until then.
            article = Article.objects.get(pk=article.pk)
            services.article_update(
                actor=head,
                article=article,
                data=services.ArticleInput(
                    title=title,
                    body=second,
                    effective_from=today + dt.timedelta(days=20),
                    note="调整住宿费标准，增加报销时限要求",
                ),
            )


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def _cover(colors: tuple[tuple[int, int, int], tuple[int, int, int]], motif: str) -> bytes:
    """A 16:9 picture: a vertical gradient, a simple motif, and a mark when a CJK font exists."""
    width, height = 1280, 720
    top, bottom = colors
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    light = (255, 255, 255)
    if motif == "sun":
        draw.ellipse((880, 90, 1080, 290), fill=(255, 236, 179))
        for row in range(4):
            for col in range(7):
                x, y = 140 + col * 150 + row * 30, 430 + row * 60
                draw.polygon([(x, y), (x + 120, y), (x + 100, y + 45), (x - 20, y + 45)], fill=(30, 64, 124))
    elif motif == "wind":
        for x, scale in ((300, 1.0), (620, 0.8), (900, 0.65)):
            base = 690
            top_y = int(base - 420 * scale)
            draw.rectangle((x - 6, top_y, x + 6, base), fill=light)
            for dx, dy in ((0, -160), (140, 80), (-140, 80)):
                draw.line([(x, top_y), (x + int(dx * scale), top_y + int(dy * scale))], fill=light, width=10)
            draw.ellipse((x - 14, top_y - 14, x + 14, top_y + 14), fill=light)
    else:
        for lane in range(5):
            y = 480 + lane * 45
            draw.arc((-200, y - 300, width + 200, y + 300), 200, 340, fill=(255, 255, 255), width=6)
    # The carousel writes the title over the picture; the picture carries the group's mark.
    font = _font(34)
    if isinstance(font, ImageFont.FreeTypeFont):
        draw.rounded_rectangle((48, 44, 250, 104), radius=12, fill=(180, 35, 42))
        draw.text((70, 52), "图说集团", font=font, fill=light)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82)
    return buffer.getvalue()


def _upload(actor: User, name: str, data: bytes, context: str, *, images_only: bool = False) -> StoredFile:
    return files.store_upload(
        actor=actor, upload=SimpleUploadedFile(name, data), context=context, images_only=images_only
    )


def _gallery(channel: Channel, head: User, now: dt.datetime, readers: list[User], rng: random.Random) -> None:
    for title, colors, motif, days in GALLERY:
        cover = _upload(head, f"{title}.jpg", _cover(colors, motif), "portal.cover", images_only=True)
        article = _publish(
            channel,
            head,
            head,
            services.ArticleInput(
                title=title,
                body=_p(f"{title}。图为现场。"),
                cover=cover,
            ),
        )
        _backdate(article, now - dt.timedelta(days=days), readers, rng, 20)


def _xlsx() -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.title = "差旅费报销单"
    sheet["A1"] = "差旅费报销单"
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells("A1:G1")
    sheet.append(["姓名", "", "部门", "", "出差事由", "", ""])
    sheet.append(["日期", "出发地", "到达地", "交通费", "住宿费", "伙食补助", "小计"])
    for row in range(4, 10):
        sheet.append(["", "", "", None, None, None, f"=SUM(D{row}:F{row})"])
    sheet.append(["合计", "", "", "=SUM(D4:D9)", "=SUM(E4:E9)", "=SUM(F4:F9)", "=SUM(G4:G9)"])
    for column in "ABCDEFG":
        sheet.column_dimensions[column].width = 14
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _evacuation_map() -> bytes:
    """A one-page PDF (drawn with Pillow): the evacuation routes of the office building."""
    image = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(image)
    title, text = _font(56), _font(30)
    if isinstance(title, ImageFont.FreeTypeFont):
        draw.text((120, 100), "集团总部办公楼应急疏散示意图", font=title, fill=(180, 35, 42))
    draw.rectangle((120, 260, 1120, 1300), outline=(40, 40, 40), width=6)
    for x in range(120, 1120, 200):
        draw.rectangle((x + 10, 270, x + 190, 520), outline=(120, 120, 120), width=3)
    draw.rectangle((120, 600, 1120, 760), fill=(236, 253, 243))
    for x in (200, 500, 800):
        draw.polygon([(x, 680), (x + 140, 650), (x + 140, 710)], fill=(6, 118, 71))
    draw.rectangle((1040, 620, 1120, 740), fill=(6, 118, 71))
    if isinstance(text, ImageFont.FreeTypeFont):
        draw.text((1000, 770), "安全出口", font=text, fill=(6, 118, 71))
        draw.text((120, 1360), "发生火情时请沿绿色箭头方向疏散，不要乘坐电梯。", font=text, fill=(40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=150)
    return buffer.getvalue()


MINUTES_TEMPLATE = """会议纪要

会议名称：
会议时间：    年  月  日  时  分
会议地点：
主 持 人：
记 录 人：
参会人员：
缺席人员：

一、会议议题
1.
2.

二、会议决定事项
1.
2.

三、工作安排（事项／责任部门／完成时限）
1.
2.

抄送：
（会议纪要应在会后2个工作日内通过协同办公平台发送参会人员）
"""


def _downloads(channel: Channel, head: User, now: dt.datetime) -> None:
    downloads = [
        ("差旅费报销单", "差旅费报销单.xlsx", _xlsx(), 3),
        ("会议纪要模板", "会议纪要模板.txt", MINUTES_TEMPLATE.encode("utf-8"), 11),
        ("集团总部办公楼应急疏散示意图", "办公楼应急疏散示意图.pdf", _evacuation_map(), 30),
    ]
    for title, name, data, days in downloads:
        stored = _upload(head, name, data, "portal.attachment")
        article = _publish(
            channel,
            head,
            head,
            services.ArticleInput(title=title, body=_p(f"{title}，请下载使用。"), attachments=[stored]),
        )
        when = now - dt.timedelta(days=days)
        Article.objects.filter(pk=article.pk).update(publish_at=when, published_at=when, created_at=when)
